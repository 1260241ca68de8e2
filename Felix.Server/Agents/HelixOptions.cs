using System.ComponentModel.DataAnnotations;

namespace Felix.Server.Agents;

/// <summary>The helix agents spawn along (<c>Felix:Helix</c>); defaults are the original's.</summary>
public sealed class HelixOptions
{
    public const string SectionName = "Felix:Helix";

    [Range(0.01, 1000)] public double TopRadius { get; set; } = 3.0;
    [Range(0.01, 1000)] public double BottomRadius { get; set; } = 0.5;
    [Range(0.01, 1000)] public double Height { get; set; } = 8.0;
    [Range(0.1, 100)] public double Turns { get; set; } = 2;

    /// <summary>Temperature at the top of the helix: broad exploration.</summary>
    [Range(0.0, 2.0)] public double MaxTemperature { get; set; } = 0.9;

    /// <summary>Temperature at the bottom: focused.</summary>
    [Range(0.0, 2.0)] public double MinTemperature { get; set; } = 0.2;
}
