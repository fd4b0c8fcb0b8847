using Trove.Guest.Testing;
using System.Diagnostics;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// The data volume as a file mounted with <c>mount -o loop</c> (this kernel has no partition scanning or
/// device-mapper, but loop mounts work): prepare formats and mounts it, and Trove's offline resize flow grows it.
/// </summary>
public sealed class VolumeTests(BrokerFixture broker)
{
    [Fact]
    public async Task Prepare_formats_and_mounts_the_volume_and_the_offline_resize_flow_grows_it()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        var device = Path.Combine(agent.Root, "volume.img");
        await using (var f = File.Create(device)) f.SetLength(128L * 1024 * 1024);
        var mountPoint = agent.Options.Datastore.MountPoint;

        await agent.PrepareAsync(new JsonObject { ["device_path"] = device, ["databases"] = new JsonArray(new JsonObject { ["_name"] = "kept_db" }) });
        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        (await File.ReadAllTextAsync("/proc/self/mounts")).Should().Contain($" {mountPoint} ext3 ");
        var before = (await agent.CallAsync("get_filesystem_stats", new JsonObject { ["fs_path"] = null }))!["total"]!.GetValue<double>();
        before.Should().BeInRange(0.08, 0.13);

        // Trove's offline resize: stop_db, unmount_volume, (the volume grows), resize_fs, mount_volume, restart.
        await agent.CallAsync("stop_db");
        await agent.CallAsync("unmount_volume", new JsonObject { ["device_path"] = device, ["mount_point"] = mountPoint });
        (await File.ReadAllTextAsync("/proc/self/mounts")).Should().NotContain($" {mountPoint} ");
        await using (var f = File.OpenWrite(device)) f.SetLength(256L * 1024 * 1024);
        await agent.CallAsync("resize_fs", new JsonObject { ["device_path"] = device, ["mount_point"] = mountPoint, ["online"] = false }, "1.1");
        await agent.CallAsync("mount_volume", new JsonObject { ["device_path"] = device, ["mount_point"] = mountPoint });
        await agent.CallAsync("restart");

        var after = (await agent.CallAsync("get_filesystem_stats", new JsonObject { ["fs_path"] = null }))!["total"]!.GetValue<double>();
        after.Should().BeGreaterThan(before * 1.8);
        PythonJson.Dumps(await agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false }))
            .Should().Contain("kept_db", "the data survived the resize");
    }
}
