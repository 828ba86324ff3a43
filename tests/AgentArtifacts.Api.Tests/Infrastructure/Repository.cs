namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>The checkout the tests run from, found upwards from the test assembly.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentArtifacts.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("AgentArtifacts.sln not found above " + AppContext.BaseDirectory);
    }
}
