import ArgumentParser
import TidemarkPipelines

/// `--pipelines`: the folder of view definitions, shared by `serve` and `batch run`.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Folder of view definitions, one YAML file per view (env TIDEMARK_PIPELINES).")
    var pipelines: String = Environment.value("TIDEMARK_PIPELINES") ?? "Pipelines"

    /// Every problem of every file, with file:line:column, or the catalog.
    func load() throws -> PipelineCatalog {
        do {
            return try PipelineLoader().load(directory: pipelines)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
