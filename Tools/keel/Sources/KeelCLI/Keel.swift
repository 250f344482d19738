import ArgumentParser

/// `keel`: operate a Keel data plane from the command line.
struct Keel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel",
        abstract: "Operate a Keel data plane: apply workspace configuration, inspect and replay events.",
        // One line per subcommand; each lives in its own file.
        subcommands: [
            Apply.self,
            Validate.self,
            ConfigCommand.self,
            TransformCommand.self,
            FailedCommand.self,
            DestinationCommand.self,
            UploadsCommand.self,
            TopicsCommand.self,
        ]
    )
}
