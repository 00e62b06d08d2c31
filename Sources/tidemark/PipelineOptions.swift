import ArgumentParser
import TidemarkPipelines

/// `--pipelines`: the folder of view definitions, shared by `serve` and `batch run`.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Folder of view definitions, one YAML file per view (env TIDEMARK_PIPELINES; default Pipelines).")
    var pipelines: String?

    /// Every problem of every file, with file:line:column, or the catalog.
    func load(settings: Settings = .environmentOnly()) throws -> PipelineCatalog {
        do {
            return try PipelineLoader().load(directory: settings.string("pipelines", flag: pipelines) ?? "Pipelines")
        } catch {
            throw ValidationError(error.description)
        }
    }
}
