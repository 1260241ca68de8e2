namespace Felix.Server.Observability;

/// <summary>Metrics and traces (<c>Felix:Observability</c>). OTLP export is set by the standard <c>OTEL_*</c> variables.</summary>
public sealed class ObservabilityOptions
{
    public const string SectionName = "Felix:Observability";

    /// <summary>The variable that turns on OTLP export of traces, metrics and logs (with its standard companions).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// <c>/metrics</c> without a key, for a scraper on a trusted network. Off: when keys are configured, reading metrics
    /// takes the admin scope (they name workflows' volumes and the node's load).
    /// </summary>
    public bool AnonymousMetrics { get; set; }
}
