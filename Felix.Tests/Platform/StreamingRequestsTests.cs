using Felix.Server.Platform;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Felix.Tests.Platform;

/// <summary>Long-lived requests are told apart from the request alone, before the WebSockets middleware has run.</summary>
public sealed class StreamingRequestsTests
{
    [Fact]
    public void AnHttp11UpgradeToWebSocketIsAWebSocketUpgrade()
    {
        var context = Request(upgradable: true, upgrade: "websocket");

        Assert.True(StreamingRequests.IsWebSocketUpgrade(context));
        Assert.True(StreamingRequests.IsLongLived(context));
    }

    [Fact]
    public void AnUpgradeToAnotherProtocolOrAPlainRequestIsNot()
    {
        Assert.False(StreamingRequests.IsWebSocketUpgrade(Request(upgradable: true, upgrade: "h2c")));
        Assert.False(StreamingRequests.IsWebSocketUpgrade(Request(upgradable: false, upgrade: "websocket")));
        Assert.False(StreamingRequests.IsLongLived(Request(upgradable: false, upgrade: null)));
    }

    [Fact]
    public void AnHttp2ExtendedConnectIsAWebSocketUpgradeOnlyForWebSocket()
    {
        var websocket = new DefaultHttpContext();
        websocket.Features.Set<IHttpExtendedConnectFeature>(new ExtendedConnect("websocket"));
        var other = new DefaultHttpContext();
        other.Features.Set<IHttpExtendedConnectFeature>(new ExtendedConnect("webtransport"));

        Assert.True(StreamingRequests.IsWebSocketUpgrade(websocket));
        Assert.False(StreamingRequests.IsWebSocketUpgrade(other));
    }

    [Theory]
    [InlineData("/hubs/workflows", true)]
    [InlineData("/api/v1/ws/workflows/wf_1", true)]
    [InlineData("/api/v1/ws/system/events", true)]
    [InlineData("/api/v1/workflows", false)]
    [InlineData("/nowhere", false)]
    public void OnlyUpgradesToTheStreamingEndpointsAreStreamUpgrades(string path, bool expected)
    {
        var context = Request(upgradable: true, upgrade: "websocket");
        context.Request.Path = path;

        Assert.Equal(expected, StreamingRequests.IsStreamUpgrade(context));
    }

    [Fact]
    public void AServerSentEventsRequestIsLongLivedButNotAnUpgrade()
    {
        var context = Request(upgradable: false, upgrade: null);
        context.Request.Headers.Accept = "text/event-stream";

        Assert.False(StreamingRequests.IsWebSocketUpgrade(context));
        Assert.True(StreamingRequests.IsLongLived(context));
    }

    private static DefaultHttpContext Request(bool upgradable, string? upgrade)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpUpgradeFeature>(new Upgrade(upgradable));
        if (upgrade is not null)
        {
            context.Request.Headers.Upgrade = upgrade;
        }

        return context;
    }

    private sealed class Upgrade(bool upgradable) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => upgradable;

        public Task<Stream> UpgradeAsync() => throw new NotSupportedException();
    }

    private sealed class ExtendedConnect(string protocol) : IHttpExtendedConnectFeature
    {
        public bool IsExtendedConnect => true;

        public string? Protocol => protocol;

        public ValueTask<Stream> AcceptAsync() => throw new NotSupportedException();
    }
}
