using Felix.Client;

namespace Felix.Cli;

/// <summary>Where and how every command connects: from <c>--url</c>, <c>--api-key</c> and, for the commands that watch, <c>--protocol</c>.</summary>
internal sealed record CliSettings(Uri Url, string? ApiKey, FelixProtocol Protocol)
{
    public FelixClient CreateClient() => new(new FelixClientOptions { BaseAddress = Url, ApiKey = ApiKey, Protocol = Protocol });
}
