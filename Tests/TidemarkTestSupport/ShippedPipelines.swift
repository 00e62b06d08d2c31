import TidemarkPipelines

/// The repository's `Pipelines/` folder, loaded.
public enum ShippedPipelines {
    public static var directory: String {
        let testsSupport = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        return "/" + testsSupport + "/Pipelines"
    }

    public static func catalog() throws -> PipelineCatalog {
        try PipelineLoader().load(directory: directory)
    }
}
