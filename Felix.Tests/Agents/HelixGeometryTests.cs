using Felix.Server.Agents;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Agents;

public sealed class HelixGeometryTests
{
    private readonly HelixGeometry _helix = new(Options.Create(new HelixOptions()));

    [Fact]
    public void TopIsWideAndHighBottomIsNarrowAndLow()
    {
        var top = _helix.PositionAt(0);
        var bottom = _helix.PositionAt(1);

        Assert.Equal(3.0, top.Radius, 9);
        Assert.Equal(8.0, top.Z, 9);
        Assert.Equal(0.5, bottom.Radius, 9);
        Assert.Equal(0.0, bottom.Z, 9);
        // Two whole turns bring the bottom back to the top's angle.
        Assert.Equal(0.5, bottom.X, 9);
        Assert.Equal(0.0, bottom.Y, 9);
    }

    [Fact]
    public void HalfwayIsHalfATurnAroundAndHalfwayDown()
    {
        var middle = _helix.PositionAt(0.25);

        Assert.Equal(3.0 - 2.5 * 0.25, middle.Radius, 9);
        Assert.Equal(6.0, middle.Z, 9);
        Assert.Equal(-middle.Radius, middle.X, 9); // a quarter of the way is half a turn
    }

    [Fact]
    public void TemperatureAndBudgetFallDownTheHelix()
    {
        var temperatures = Enumerable.Range(0, 11).Select(i => _helix.TemperatureAt(i / 10.0)).ToList();
        var budgets = Enumerable.Range(0, 11).Select(i => _helix.TokenBudgetAt(i / 10.0, 800)).ToList();

        Assert.Equal(0.9, temperatures[0], 9);
        Assert.Equal(0.2, temperatures[^1], 9);
        Assert.Equal(temperatures.OrderByDescending(t => t), temperatures);
        Assert.Equal(800, budgets[0]);
        Assert.Equal(400, budgets[^1]);
        Assert.Equal(budgets.OrderByDescending(b => b), budgets);
    }

    [Fact]
    public void OutOfRangeSpawnTimesAreClamped()
    {
        Assert.Equal(_helix.PositionAt(0), _helix.PositionAt(-3));
        Assert.Equal(_helix.PositionAt(1), _helix.PositionAt(7));
    }

    [Theory]
    [InlineData(1, new[] { 0.5 })]
    [InlineData(5, new[] { 0.1, 0.3, 0.5, 0.7, 0.9 })]
    public void SpawnTimesSitInTheMiddleOfEqualSlices(int count, double[] expected)
    {
        Assert.Equal(expected, Enumerable.Range(0, count).Select(i => HelixGeometry.SpawnTime(i, count)));
    }

    [Theory]
    [InlineData(0.0, "research")]
    [InlineData(0.29, "research")]
    [InlineData(0.3, "analysis")]
    [InlineData(0.69, "analysis")]
    [InlineData(0.7, "critic")]
    [InlineData(1.0, "critic")]
    public void RolesFollowTheirSpawnRanges(double spawnTime, string role)
    {
        Assert.Equal(role, new AgentRegistry().ForSpawnTime(spawnTime).AgentType);
    }
}
