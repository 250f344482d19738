import EventModel
import Foundation

/// The statements the Snowflake loader emits, run against the test server's in-memory catalog.
extension SnowflakeTestServer {
    struct CatalogError: Error {
        var code: String
        var message: String
        var sqlState: String
        static func compilation(_ message: String) -> CatalogError {
            CatalogError(code: "001003", message: "SQL compilation error:\n\(message)", sqlState: "42000")
        }
    }

    static func run(
        _ statements: [String], bindings: [String], files: [String: [UInt8]], handle: String, server: SnowflakeTestServer,
        state: inout State
    ) -> (status: Int, body: [UInt8]) {
        var session = Session(files: files)
        var result: (columns: [String], rows: [[String?]]) = (["status"], [["Statement executed successfully."]])
        for statement in statements {
            state.statements.append(statement)
            if let failure = state.failures.first(where: { statement.contains($0.pattern) }) {
                let message = failure.echoStatement ? "\(failure.message) in statement: \(statement)" : failure.message
                return (failure.status, errorBody(code: failure.code, message: message, sqlState: "42000", handle: handle))
            }
            do {
                result = try execute(statement, bindings: bindings, server: server, state: &state, session: &session)
            } catch {
                return (422, errorBody(code: error.code, message: error.message, sqlState: error.sqlState, handle: handle))
            }
        }
        let rowType: [JSON] = result.columns.map { .object(["name": .string($0), "type": "text", "nullable": true]) }
        var partitions = [result.rows]
        if state.partitionSize > 0, result.rows.count > state.partitionSize {
            partitions = stride(from: 0, to: result.rows.count, by: state.partitionSize).map {
                Array(result.rows[$0..<min($0 + state.partitionSize, result.rows.count)])
            }
            state.partitions[handle] = partitions
        }
        var body: JSONObject = [
            "resultSetMetaData": .object([
                "numRows": .int(Int64(result.rows.count)), "format": "jsonv2", "rowType": .array(rowType),
                "partitionInfo": .array(partitions.map { .object(["rowCount": .int(Int64($0.count))]) }),
            ]),
            "data": .array(partitions[0].map { .array($0.map { $0.map(JSON.string) ?? .null }) }),
            "code": "090001", "statementStatusUrl": .string("/api/v2/statements/\(handle)"), "sqlState": "00000",
            "statementHandle": .string(handle), "message": "Statement executed successfully.",
            "createdOn": .int(Int64(Date().timeIntervalSince1970 * 1000)),
        ]
        if statements.count > 1 {
            body["statementHandles"] = .array(statements.indices.map { .string("\(handle)-\($0)") })
            body["data"] = .array([.array(["Multiple statements executed successfully."])])
        }
        return (200, JSON.object(body).serialized())
    }

    static func execute(
        _ statement: String, bindings: [String], server: SnowflakeTestServer, state: inout State,
        session: inout Session
    ) throws(CatalogError) -> (columns: [String], rows: [[String?]]) {
        let placeholders = statement.filter { $0 == "?" }.count
        guard placeholders == bindings.count else {
            throw CatalogError(code: "002049", message: "expected \(placeholders) bindings, got \(bindings.count)", sqlState: "22000")
        }
        let done: (columns: [String], rows: [[String?]]) = (["status"], [["Statement executed successfully."]])
        var scanner = Scanner(statement)
        if statement.hasPrefix("SELECT table_name, column_name, data_type FROM ") {
            guard statement.hasSuffix(".information_schema.columns WHERE table_schema = ?") else { throw .compilation("unexpected query") }
            let schema = bindings[0]
            var rows: [[String?]] = []
            if schema == server.schema {
                for (table, columns) in state.tables.sorted(by: { $0.key < $1.key }) {
                    for (column, type) in columns.sorted(by: { $0.key < $1.key }) { rows.append([table, column, type]) }
                }
            }
            return (["TABLE_NAME", "COLUMN_NAME", "DATA_TYPE"], rows)
        }
        if scanner.skip("CREATE SCHEMA IF NOT EXISTS ") {
            let names = try scanner.qualifiedName(parts: 2)
            guard names == [server.database, server.schema] else { throw .compilation("schema \(names) is not the configured one") }
            return done
        }
        if scanner.skip("CREATE TABLE IF NOT EXISTS ") {
            let table = try scanner.table(server)
            let columns = try scanner.columnDefinitions()
            if state.tables[table] == nil { state.tables[table] = columns }
            return done
        }
        if scanner.skip("ALTER TABLE ") {
            let table = try scanner.table(server)
            guard scanner.skip(" ADD COLUMN IF NOT EXISTS ") else { throw .compilation("unexpected ALTER TABLE") }
            let column = try scanner.identifier()
            guard scanner.skip(" ") else { throw .compilation("missing type") }
            let type = try dataType(String(scanner.rest))
            guard state.tables[table] != nil else {
                throw CatalogError(code: "002003", message: "SQL compilation error:\nTable '\(table)' does not exist or not authorized.", sqlState: "42S02")
            }
            if state.tables[table]![column] == nil { state.tables[table]![column] = type }
            return done
        }
        if scanner.skip("CREATE TEMPORARY TABLE ") {
            let name = try scanner.identifier()
            scanner.skip(" ")
            session.tables[name] = try scanner.columnDefinitions()
            session.rows[name] = []
            return done
        }
        if statement == "BEGIN TRANSACTION" || statement == "COMMIT" { return done }
        if scanner.skip("COPY INTO ") {
            let staging = try scanner.identifier()
            guard let columns = session.tables[staging] else {
                throw CatalogError(code: "002003", message: "SQL compilation error:\nTable '\(staging)' does not exist or not authorized.", sqlState: "42S02")
            }
            guard scanner.skip(" FROM ") else { throw .compilation("COPY without FROM") }
            let rest = scanner.rest
            guard let format = rest.range(of: " FILE_FORMAT = (TYPE = JSON)"), rest.contains("MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE") else {
                throw .compilation("COPY of JSON needs FILE_FORMAT = (TYPE = JSON) and MATCH_BY_COLUMN_NAME")
            }
            let source = String(rest[..<format.lowerBound])
            state.copies.append(Copy(staging: staging, source: source, hasCredentials: source.contains("CREDENTIALS = (AWS_KEY_ID = ")))
            guard let url = SnowflakeTestServer.copySource(statement), let bytes = session.files[url] else {
                throw CatalogError(code: "091016", message: "Remote file '\(SnowflakeTestServer.copySource(statement) ?? "?")' was not found.", sqlState: "22000")
            }
            let loaded = try load(bytes, into: columns)
            session.rows[staging, default: []] += loaded
            return (["file", "status", "rows_parsed", "rows_loaded"], [[url, "LOADED", String(loaded.count), String(loaded.count)]])
        }
        if scanner.skip("MERGE INTO ") {
            let table = try scanner.table(server)
            guard let target = state.tables[table] else {
                throw CatalogError(code: "002003", message: "SQL compilation error:\nTable '\(table)' does not exist or not authorized.", sqlState: "42S02")
            }
            guard scanner.skip(" t USING ") else { throw .compilation("unexpected MERGE") }
            let staging = try scanner.identifier()
            guard let source = session.tables[staging] else {
                throw CatalogError(code: "002003", message: "SQL compilation error:\nTable '\(staging)' does not exist or not authorized.", sqlState: "42S02")
            }
            let rest = String(scanner.rest)
            guard rest.hasPrefix(" s ON t.\"ID\" = s.\"ID\" ") || (table == "KEEL_DISCARDS" && rest.hasPrefix(" s ON t.\"TABLE_NAME\" = s.\"TABLE_NAME\" AND"))
            else { throw .compilation("MERGE must join on ID") }
            // Every column named t."X" / s."X" must exist on its side.
            for (alias, columns, name) in [("t.", target, table), ("s.", source, staging)] {
                for column in quotedColumns(after: alias, in: rest) where columns[column] == nil {
                    throw CatalogError(code: "000904", message: "SQL compilation error: error line 1 at position 0\ninvalid identifier '\(alias.uppercased())\(column)' of \(name)", sqlState: "42000")
                }
            }
            guard let insert = rest.range(of: "WHEN NOT MATCHED THEN INSERT (") else { throw .compilation("MERGE without INSERT") }
            var insertScanner = Scanner(String(rest[insert.upperBound...]))
            while true {
                let column = try insertScanner.identifier()
                guard target[column] != nil else {
                    throw CatalogError(code: "000904", message: "SQL compilation error:\ninvalid identifier '\(column)'", sqlState: "42000")
                }
                if !insertScanner.skip(", ") { break }
            }
            // Keep the rows: an upsert on the key of the staged columns (for USERS, a NULL does
            // not erase a known trait). The SQL's own expressions are not evaluated.
            let keys = table == "KEEL_DISCARDS" ? ["TABLE_NAME", "COLUMN_NAME", "ROW_ID"] : ["ID"]
            var inserted = 0, updated = 0
            for row in session.rows[staging] ?? [] {
                let id = keys.map { row[$0]?.stringValue ?? "" }.joined(separator: "\u{0}")
                if var existing = state.rows[table]?[id] {
                    for column in source.keys {
                        let value = row[column] ?? .null
                        if table == "USERS", value == .null { continue }
                        existing[column] = value
                    }
                    state.rows[table]![id] = existing
                    updated += 1
                } else {
                    state.rows[table, default: [:]][id] = row
                    inserted += 1
                }
            }
            return (["number of rows inserted", "number of rows updated"], [[String(inserted), String(updated)]])
        }
        throw .compilation("syntax error line 1 at position 0 unexpected '\(statement.prefix(20))'.")
    }

    /// This request's session: its temporary tables and the files its COPY statements read.
    struct Session {
        var files: [String: [UInt8]]
        var tables: [String: [String: String]] = [:]
        var rows: [String: [[String: JSON]]] = [:]
    }

    /// Parses NDJSON as `COPY … FILE_FORMAT = (TYPE = JSON) MATCH_BY_COLUMN_NAME =
    /// CASE_INSENSITIVE` would: keys matched to columns ignoring case (others ignored), each value
    /// converted to its column's type or the statement fails (ON_ERROR = ABORT_STATEMENT).
    static func load(_ bytes: [UInt8], into columns: [String: String]) throws(CatalogError) -> [[String: JSON]] {
        var rows: [[String: JSON]] = []
        for (number, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let object = (try? JSON(parsing: Array(line)))?.objectValue else {
                throw CatalogError(code: "100069", message: "Error parsing JSON: line \(number + 1)", sqlState: "22P02")
            }
            var row: [String: JSON] = [:]
            for (key, value) in object {
                guard let type = columns[key.uppercased()], value != .null else { continue }
                let fits: Bool
                // Snowflake also converts numeric and boolean strings, and anything to text.
                switch (type, value) {
                case ("NUMBER", .int): fits = true
                case ("NUMBER", .string(let text)): fits = Int64(text) != nil
                case ("FLOAT", .int), ("FLOAT", .double): fits = true
                case ("FLOAT", .string(let text)): fits = Double(text) != nil
                case ("BOOLEAN", .bool): fits = true
                case ("BOOLEAN", .string(let text)): fits = ["true", "false"].contains(text.lowercased())
                case ("TIMESTAMP_TZ", .string(let text)): fits = Timestamp(parsing: text) != nil
                case ("TEXT", .string), ("TEXT", .int), ("TEXT", .double), ("TEXT", .bool): fits = true
                default: fits = false
                }
                guard fits else {
                    throw CatalogError(code: "100038", message: "Value '\(value.jsonString)' is not recognized as \(type) (column \(key.uppercased()), line \(number + 1))", sqlState: "22018")
                }
                row[key.uppercased()] = value
            }
            rows.append(row)
        }
        return rows
    }

    static func dataType(_ sqlType: String) throws(CatalogError) -> String {
        switch sqlType {
        case "NUMBER(38,0)": "NUMBER"
        case "FLOAT": "FLOAT"
        case "BOOLEAN": "BOOLEAN"
        case "TIMESTAMP_TZ": "TIMESTAMP_TZ"
        case "VARCHAR", "VARCHAR NOT NULL PRIMARY KEY": "TEXT"
        default: throw .compilation("unsupported data type '\(sqlType)'")
        }
    }

    static func quotedColumns(after alias: String, in text: String) -> [String] {
        var columns: [String] = []
        var rest = Substring(text)
        while let range = rest.range(of: alias + "\"") {
            rest = rest[range.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            columns.append(String(rest[..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return columns
    }

    /// A tiny cursor over a statement.
    struct Scanner {
        var rest: Substring
        init(_ text: String) { rest = Substring(text) }

        @discardableResult
        mutating func skip(_ prefix: String) -> Bool {
            guard rest.hasPrefix(prefix) else { return false }
            rest = rest.dropFirst(prefix.count)
            return true
        }

        /// A quoted identifier; Keel always quotes and upper-cases.
        mutating func identifier() throws(CatalogError) -> String {
            guard skip("\"") , let end = rest.firstIndex(of: "\"") else { throw .compilation("expected a quoted identifier at '\(rest.prefix(20))'") }
            let name = String(rest[..<end])
            guard name == name.uppercased() else { throw .compilation("identifier \(name) is not upper-case") }
            rest = rest[rest.index(after: end)...]
            return name
        }

        mutating func qualifiedName(parts: Int) throws(CatalogError) -> [String] {
            var names: [String] = []
            for index in 0..<parts {
                if index > 0, !skip(".") { throw .compilation("expected a qualified name") }
                names.append(try identifier())
            }
            return names
        }

        /// `"DB"."SCHEMA"."TABLE"` in the configured database and schema.
        mutating func table(_ server: SnowflakeTestServer) throws(CatalogError) -> String {
            let names = try qualifiedName(parts: 3)
            guard names[0] == server.database, names[1] == server.schema else {
                throw CatalogError(code: "002003", message: "SQL compilation error:\nSchema '\(names[0]).\(names[1])' does not exist or not authorized.", sqlState: "02000")
            }
            return names[2]
        }

        /// ` ("A" TYPE, "B" TYPE)` → column → data_type.
        mutating func columnDefinitions() throws(CatalogError) -> [String: String] {
            skip(" ")
            guard skip("("), rest.hasSuffix(")") else { throw .compilation("expected column definitions") }
            let body = rest.dropLast()
            var columns: [String: String] = [:]
            var depth = 0
            var current = ""
            var definitions: [String] = []
            for character in body {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1 }
                if character == ",", depth == 0 {
                    definitions.append(current.trimmingCharacters(in: .whitespaces))
                    current = ""
                } else {
                    current.append(character)
                }
            }
            definitions.append(current.trimmingCharacters(in: .whitespaces))
            for definition in definitions {
                var scanner = Scanner(definition)
                let name = try scanner.identifier()
                guard scanner.skip(" ") else { throw .compilation("column \(name) has no type") }
                columns[name] = try SnowflakeTestServer.dataType(String(scanner.rest))
            }
            rest = ""
            return columns
        }
    }
}
