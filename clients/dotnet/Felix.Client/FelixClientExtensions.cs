using Felix.Client;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="FelixClient"/> with dependency injection.</summary>
public static class FelixClientExtensions
{
    /// <summary>
    /// Registers <see cref="FelixClient"/> as a typed client of <c>IHttpClientFactory</c> (so its handlers are pooled and
    /// can be configured on the returned builder) with <see cref="FelixClientOptions"/> set by <paramref name="configure"/>.
    /// </summary>
    public static IHttpClientBuilder AddFelixClient(this IServiceCollection services, Action<FelixClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<FelixClientOptions>().Configure(configure);
        var builder = services.AddHttpClient(nameof(FelixClient));
        builder.AddTypedClient((http, sp) => new FelixClient(http, sp.GetRequiredService<IOptions<FelixClientOptions>>().Value));
        return builder;
    }
}
