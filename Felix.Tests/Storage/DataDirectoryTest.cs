namespace Felix.Tests.Storage;

/// <summary>A test class whose servers (processes or in-process) keep their SQLite files in a fresh directory of its own.</summary>
public abstract class DataDirectoryTest : IAsyncLifetime
{
    private protected SqliteTestDatabase Files { get; } = new();

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Files.Directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Files.DisposeAsync().AsTask();
}
