using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Security;

/// <summary>
/// A crowd of clients sharing one key, back together after a restart, gets in; one client reconnecting in a loop, or one
/// key churning from everywhere, is still stopped. Clients come from loopback addresses of their own (127.0.0.x), as a
/// crowd comes from addresses of its own.
/// </summary>
public sealed class ReconnectStormTests
{
    private const int PerAddress = 20;

    private static FelixApplication Start(int maxConnectionsPerPrincipal = 10_000, int principalPerMinute = 6_000) =>
        TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Limits:ConnectionAttemptsPerMinute"] = PerAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Felix:Limits:PrincipalConnectionAttemptsPerMinute"] = principalPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Felix:Limits:MaxConnectionsPerPrincipal"] = maxConnectionsPerPrincipal.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, kestrel: true);

    /// <summary>A client whose connections leave from <paramref name="source"/>.</summary>
    private static HttpClient ClientFrom(FelixApplication app, IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        BaseAddress = app.BaseAddress,
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", TenantApplication.KeyA) },
    };

    private static async Task<HttpStatusCode[]> NegotiateAsync(HttpClient client, int times)
    {
        var statuses = new HttpStatusCode[times];
        for (var i = 0; i < times; i++)
        {
            using var response = await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout();
            statuses[i] = response.StatusCode;
        }

        return statuses;
    }

    /// <summary>
    /// Negotiates until an attempt is not accepted (at most <paramref name="limit"/> times): how many were accepted before,
    /// and the first answer that was not (the last one when all were).
    /// </summary>
    private static async Task<(int Accepted, HttpResponseMessage Refused)> NegotiateUntilRefusedAsync(HttpClient client, int limit)
    {
        for (var accepted = 0; ; accepted++)
        {
            var response = await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout();
            if (response.StatusCode != HttpStatusCode.OK || accepted + 1 >= limit)
            {
                return (accepted, response);
            }

            response.Dispose();
        }
    }

    private static IPAddress Loopback(int i) => new([127, 0, 0, (byte)(2 + i)]);

    [Fact]
    public async Task ACrowdSharingOneKeyGetsInWhileEachOfItsAddressesStaysLimited()
    {
        await using var app = Start();
        const int addresses = 5;
        var clients = Enumerable.Range(0, addresses).Select(i => ClientFrom(app, Loopback(i))).ToList();

        // Five times the per-address limit, at once, all as one principal: the old per-key limit refused four fifths.
        var crowd = await Task.WhenAll(clients.Select(c => NegotiateAsync(c, PerAddress)));
        // A slow machine may see a token come back (one every 3 s) before this: the address is refused once it is spent.
        var (_, oneMore) = await NegotiateUntilRefusedAsync(clients[0], PerAddress);
        using var __ = oneMore;

        Assert.All(crowd.SelectMany(s => s), status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, oneMore.StatusCode);
        Assert.True(oneMore.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task OneKeyChurningFromManyAddressesIsStoppedAfterABurstAsLargeAsItsConnectionCap()
    {
        await using var app = Start(maxConnectionsPerPrincipal: 50, principalPerMinute: 10);
        var clients = Enumerable.Range(0, 4).Select(i => ClientFrom(app, Loopback(i))).ToList();

        // 4 x 20 attempts, each address within its own limit: the key as a whole may make 50 at once.
        var statuses = (await Task.WhenAll(clients.Select(c => NegotiateAsync(c, PerAddress)))).SelectMany(s => s).ToList();

        Assert.Equal(50, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(30, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task AClientRefusedForItsAttemptsIsToldToComeBackWhenItsAddressHasAnAttemptAgain()
    {
        // 60 a minute from one address: a token a second once the burst is spent.
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Limits:ConnectionAttemptsPerMinute"] = "60",
        }, kestrel: true);
        using var client = ClientFrom(app, Loopback(0));
        // At least the burst of 60 gets in; more only if the attempts took longer than a second (a token came back).
        var (accepted, refused) = await NegotiateUntilRefusedAsync(client, 120);
        using var _ = refused;
        Assert.True(accepted >= 60, $"{accepted} attempts accepted before the first refusal");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = refused.Headers.RetryAfter?.Delta ?? TimeSpan.MaxValue;
        // One token's wait (a second, and the limiter's refill tick rounded up), and as much again of jitter: not the
        // minute the limit is expressed in. Coming back after exactly that long must find the token there.
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));

        await Task.Delay(retryAfter);
        using var back = await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
    }

    [Theory]
    [InlineData(600, 10, 1000)]
    [InlineData(6_000, 100, 1000)]
    [InlineData(20, 1, 3000)]
    [InlineData(90, 1, 667)]
    public void AnAttemptLimitIsTheSameRatePerMinuteInPeriodsOfAboutASecond(int perMinute, int tokensPerPeriod, int periodMilliseconds)
    {
        var options = Felix.Server.Platform.StreamingAdmission.PerMinute(perMinute, burst: 5);
        Assert.Equal(tokensPerPeriod, options.TokensPerPeriod);
        Assert.Equal(periodMilliseconds, options.ReplenishmentPeriod.TotalMilliseconds, tolerance: 1);
        Assert.Equal(perMinute, options.TokensPerPeriod * (TimeSpan.FromMinutes(1) / options.ReplenishmentPeriod), tolerance: 0.1);
        Assert.Equal(5, options.TokenLimit);
    }
}
