# Textos de la línea de comandos (español).

cli-heading-usage = Uso:
cli-heading-commands = Comandos:
cli-heading-arguments = Argumentos:
cli-heading-options = Opciones:
cli-help = Muestra la ayuda
cli-lang = Idioma de mensajes y ayuda: es (predeterminado) o en; si falta se lee LANG
cli-json = Imprime JSON en lugar de texto
cli-database-url = URL de la base de datos, como sqlite://cps.db (se crea y migra si no existe)
cli-serve = Ejecuta el servidor HTTP de CPS
cli-serve-listen = Dirección y puerto donde escuchar
cli-serve-catalog = Archivo de catálogo de servicios (TOML) que reemplaza el catálogo incluido
cli-serve-demo = Crea una sola vez un cliente de demostración, le acredita 1.000.000,00 VES y muestra sus credenciales
cli-serve-nonce-window-secs = Distancia máxima, en segundos, entre un api-nonce y el reloj del servidor
cli-serve-biller-timeout-ms = Espera máxima, en milisegundos, por un proveedor antes de dejar un pago pendiente
cli-migrate = Crea o actualiza el esquema de la base de datos y termina
cli-client = Administra clientes: crear, acreditar, listar
cli-client-create = Crea un cliente y muestra su api-key y su secreto (se muestran una sola vez)
cli-client-create-name = Nombre del cliente, para los operadores
cli-client-credit = Acredita saldo (float) a un cliente mediante el libro contable
cli-client-credit-api-key = La api-key del cliente
cli-client-credit-amount = Monto en VES con 2 decimales como máximo, como 1500.50
cli-client-list = Lista los clientes con su saldo disponible y reservado
cli-call = Envía una solicitud firmada a un servidor CPS, como un integrador
cli-call-pay = Paga un servicio: POST /cps/v2/operation/use/pay
cli-call-balance = Consulta el saldo de un suscriptor: GET /cps/v2/operation/get/balance
cli-call-services = Lista los servicios: GET /cps/v2/list/basic_services
cli-call-number = Número o cuenta del suscriptor (numberService)
cli-call-service = Id del servicio (idTypeService), como 57 para MOVISTAR_PREPAGO
cli-call-amount = Monto en VES, como 10 o 10.50
cli-call-reference = Su id único para este pago, que hace seguros los reintentos
cli-call-can-get-balance = Lista solo los servicios cuyo saldo se puede (true) o no se puede consultar
cli-call-url = URL base del servidor CPS
cli-call-api-key = Su api-key
cli-call-api-secret = Su secreto, usado para firmar; nunca se envía
cli-ledger = Revisa el libro contable
cli-ledger-check = Verifica que los saldos sumen cero y coincidan con los asientos
cli-failed = Error: { $cause }
cli-migrated = Base de datos lista: { $url }
cli-serve-listening = CPS escuchando en { $url } (Ctrl-C lo detiene)
cli-demo-client =
    Cliente de demostración (saldo { $float } VES):
      CPS_API_KEY={ $apiKey }
      CPS_API_SECRET={ $secret }
cli-client-created =
    Cliente "{ $name }" creado ({ $id }). Guarde el secreto ahora: no se vuelve a mostrar.
      api-key: { $apiKey }
      secreto: { $secret }
cli-client-credited = Se acreditaron { $amount } VES. Saldo actual: { $float } VES.
cli-invalid-amount = Monto inválido "{ $amount }": use un número mayor que cero con 2 decimales como máximo y punto decimal, como 1500.50.
cli-unknown-api-key = Ningún cliente tiene la api-key { $apiKey }. Ejecute cps client list para ver las claves.
cli-client-list-empty = Todavía no hay clientes. Cree uno con cps client create --name NOMBRE.
cli-enabled = activo
cli-disabled = desactivado
cli-ledger-consistent = Libro contable consistente: los saldos suman cero y coinciden con los asientos.
cli-ledger-inconsistent = Libro contable INCONSISTENTE: los saldos suman { $sum }; cuentas que difieren de sus asientos: [{ $mismatched }]; cuentas de cliente negativas: [{ $negative }].
cli-version = Muestra la versión
cli-column-id = id
cli-column-api-key = api-key
cli-column-name = nombre
cli-column-float = saldo
cli-column-reserved = reservado
cli-column-state = estado
