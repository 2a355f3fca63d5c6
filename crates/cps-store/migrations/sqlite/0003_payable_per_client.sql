-- What CPS owes billers is now kept per client, so captures of different
-- clients update different rows instead of one hot row. The old global
-- account keeps its balance from earlier captures.

INSERT INTO accounts (id, kind, client_id)
SELECT 'payable:' || id, 'biller_payable', id FROM clients;
