using Microsoft.Extensions.Options;

namespace Felix.Server.Agents;

/// <summary>
/// Maps an agent's spawn time t in [0, 1] to its place on a tapering helix: t = 0 is the wide top (broad exploration,
/// high temperature, large budget), t = 1 the narrow bottom (focused, low temperature, small budget).
/// </summary>
internal sealed class HelixGeometry(IOptions<HelixOptions> options)
{
    private readonly HelixOptions _helix = options.Value;

    public HelixPoint PositionAt(double t)
    {
        t = Math.Clamp(t, 0, 1);
        var radius = RadiusAt(t);
        var angle = t * _helix.Turns * 2 * Math.PI;
        return new HelixPoint(radius * Math.Cos(angle), radius * Math.Sin(angle), _helix.Height * (1 - t), radius);
    }

    public double RadiusAt(double t) => _helix.TopRadius + (_helix.BottomRadius - _helix.TopRadius) * Math.Clamp(t, 0, 1);

    /// <summary>Temperature falls with the radius, from <see cref="HelixOptions.MaxTemperature"/> to the minimum.</summary>
    public double TemperatureAt(double t) =>
        _helix.MinTemperature + (_helix.MaxTemperature - _helix.MinTemperature) * Openness(t);

    /// <summary>The budget shrinks with the radius, to half of <paramref name="baseTokens"/> at the bottom.</summary>
    public int TokenBudgetAt(double t, int baseTokens) => (int)Math.Round(baseTokens * (0.5 + 0.5 * Openness(t)));

    /// <summary>Spawn time of agent <paramref name="index"/> of <paramref name="count"/>: the middle of its slice.</summary>
    public static double SpawnTime(int index, int count) => Math.Round((index + 0.5) / Math.Max(1, count), 4);

    // 1 at the top radius, 0 at the bottom one.
    private double Openness(double t) =>
        (RadiusAt(t) - _helix.BottomRadius) / Math.Max(1e-9, _helix.TopRadius - _helix.BottomRadius);
}

internal readonly record struct HelixPoint(double X, double Y, double Z, double Radius);
