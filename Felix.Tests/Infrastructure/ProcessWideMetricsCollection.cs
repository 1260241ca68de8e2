namespace Felix.Tests.Infrastructure;

/// <summary>
/// .NET meters are seen process-wide: every host's OpenTelemetry provider listens to every "Felix.Server" meter in the
/// process. Tests that read /metrics run alone so other tests' hosts do not add to or take from their numbers.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetricsCollection
{
    public const string Name = "Process-wide metrics";
}
