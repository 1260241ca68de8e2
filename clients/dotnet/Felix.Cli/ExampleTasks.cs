namespace Felix.Cli;

/// <summary>The example tasks of the original Python client (<c>clients/python/felix_ws_client.py</c>), numbered from 1.</summary>
internal static class ExampleTasks
{
    public static readonly IReadOnlyList<string> All =
    [
        "Explain quantum computing in simple terms",
        "Analyze the benefits and risks of renewable energy",
        "Compare microservices and monolithic architectures",
        "Describe how vaccines train the immune system",
    ];
}
