using FluentAssertions;
using Trove.Guest.Controller.Conductor;

namespace Trove.Guest.Controller.Tests.Conductor;

/// <summary>Trove's agent_heartbeat_expiry as the API applies it.</summary>
public sealed class HeartbeatExpiryTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_100_000);
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(1_700_000_100_000L, false)]
    [InlineData(1_700_000_010_000L, false)] // exactly 90 s: not yet
    [InlineData(1_700_000_009_999L, true)]
    [InlineData(1_600_000_000_000L, true)]
    public void A_guest_is_stale_once_its_last_heartbeat_is_older_than_the_expiry(long lastHeartbeatAtMs, bool stale) =>
        HeartbeatExpiry.IsStale(lastHeartbeatAtMs, Now, Expiry).Should().Be(stale);

    [Fact]
    public void A_guest_that_never_reported_is_stale() => HeartbeatExpiry.IsStale(null, Now, Expiry).Should().BeTrue();
}
