using Felix.Server.Platform;
using Microsoft.Extensions.Options;

namespace Felix.Server.Security;

/// <summary>
/// A production server with no key and no token issuer would let anyone in, so it does not start unless
/// <c>Felix:Security:AllowAnonymous</c> says that is meant. Other environments stay open and say so at start.
/// </summary>
internal sealed class OpenServerCheck(ApiKeyRing keys, IOptions<SecurityOptions> options, IHostEnvironment environment) : IStartupCheck
{
    public void Check()
    {
        if (keys.IsOpen && environment.IsProduction() && !options.Value.AllowAnonymous)
        {
            throw new StartupException(
                $"no credentials are configured in Production: set {SecurityOptions.ApiKeyVariable}, {SecurityOptions.SectionName}:ApiKeys or " +
                $"{SecurityOptions.SectionName}:Jwt, or {SecurityOptions.SectionName}:AllowAnonymous=true to run open on purpose.");
        }
    }
}
