// The `keel` command. Subcommands live in their own files and are listed in Keel.swift.
import ArgumentParser

/// Top-level code picks the synchronous `main()`/`run()` overloads (which print help for async
/// commands); inside an `async` function the asynchronous ones win.
func runAsync<Command: AsyncParsableCommand>(_ command: Command.Type) async {
    await command.main(nil)
}

await runAsync(Keel.self)
