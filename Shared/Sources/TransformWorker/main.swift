// keel-transform-worker: hardened-mode user transformations. Started by the processor's
// TransformationEngine (isolation: .workerProcesses); reads batch frames on stdin, answers on
// stdout, limits itself with setrlimit. Not meant to be run by hand.
import Foundation
import Transformations

exit(await TransformationWorkerProcess.run(arguments: CommandLine.arguments))
