namespace Felix.Server.Api;

/// <summary>
/// <c>HEAD</c> wherever <c>GET</c> is answered (RFC 9110 9.3.2: the same status and headers, without the body), for
/// monitors and link checkers that probe with it. A minimal API endpoint lists only the methods it was mapped with, and
/// routing answers any other with 405; Kestrel drops the body a handler writes for a HEAD request, so the GET handler
/// serves both. Static files and health checks answer HEAD already. Not for the hubs and raw WebSocket endpoints: a
/// HEAD request cannot upgrade.
/// </summary>
internal static class HeadRequests
{
    /// <summary>Adds HEAD to each of the builder's endpoints that answers GET.</summary>
    public static TBuilder AllowHead<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            // Routing reads the last method metadata: replace that one.
            var index = LastIndexOfMethods(endpoint.Metadata);
            if (index >= 0 && endpoint.Metadata[index] is IHttpMethodMetadata methods
                && methods.HttpMethods.Any(HttpMethods.IsGet) && !methods.HttpMethods.Any(HttpMethods.IsHead))
            {
                endpoint.Metadata[index] = new HttpMethodMetadata([.. methods.HttpMethods, HttpMethods.Head], methods.AcceptCorsPreflight);
            }
        });
        return builder;
    }

    private static int LastIndexOfMethods(IList<object> metadata)
    {
        for (var i = metadata.Count - 1; i >= 0; i--)
        {
            if (metadata[i] is IHttpMethodMetadata)
            {
                return i;
            }
        }

        return -1;
    }
}
