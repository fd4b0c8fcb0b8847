using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>Guest logs published to a real Swift with the user's token from the request context, then discarded.</summary>
public sealed class GuestLogPublishTests(BrokerFixture broker)
{
    [Fact]
    public async Task A_log_is_published_in_whole_lines_incrementally_and_discarded()
    {
        await using var swift = await SwiftService.StartAsync();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync();
        var context = new RpcCallOptions
        {
            Context = new JsonObject
            {
                ["auth_token"] = swift.Token,
                ["project_id"] = "test",
                ["is_admin"] = false,
                ["service_catalog"] = new JsonArray(new JsonObject
                {
                    ["type"] = "object-store", ["name"] = "swift",
                    ["endpoints"] = new JsonArray(new JsonObject { ["region"] = "RegionOne", ["publicURL"] = swift.StorageUrl }),
                }),
            },
        };
        JsonObject Action(bool publish = false, bool discard = false) => new()
        {
            ["log_name"] = "general", ["enable"] = false, ["disable"] = false, ["publish"] = publish, ["discard"] = discard,
        };

        // Publishing a log that is off switches it on first; then the queries we run land in it.
        await agent.Client.CallAsync(agent.Target, "guest_log_action", Action(publish: true), context);
        await agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false });
        var first = await agent.Client.CallAsync(agent.Target, "guest_log_action", Action(publish: true), context);
        first!["status"]!.GetValue<string>().Should().Be("Published");
        first["container"]!.GetValue<string>().Should().Be("database_logs");
        var prefix = first["prefix"]!.GetValue<string>();
        prefix.Should().Be($"{agent.Options.GuestId}/mariadb-general/");

        var (status, listing) = await swift.GetAsync($"database_logs?prefix={prefix}&format=json");
        status.Should().Be(200);
        var parts = JsonNode.Parse(listing)!.AsArray().Select(o => o!["name"]!.GetValue<string>()).ToList();
        parts.Should().NotBeEmpty().And.OnlyContain(n => n.StartsWith(prefix + "log-"));
        var published = string.Concat(await Task.WhenAll(parts.Select(async p => (await swift.GetAsync("database_logs/" + p)).Body)));
        published.Should().Contain("information_schema.schemata").And.EndWith("\n");

        var (metaStatus, metaBody) = await swift.GetAsync($"database_logs/{agent.Options.GuestId}/mariadb-general_metafile");
        metaStatus.Should().Be(200);
        var meta = JsonNode.Parse(metaBody)!.AsObject();
        meta["log_size"]!.GetValue<long>().Should().Be(first["published"]!.GetValue<long>());
        meta["log_type"]!.GetValue<string>().Should().Be("USER");

        // New lines only go into a new part.
        await agent.CallAsync("list_users", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false });
        await agent.Client.CallAsync(agent.Target, "guest_log_action", Action(publish: true), context);
        var after = JsonNode.Parse((await swift.GetAsync($"database_logs?prefix={prefix}&format=json")).Body)!.AsArray()
            .Select(o => o!["name"]!.GetValue<string>()).ToList();
        after.Should().HaveCount(parts.Count + 1);
        var newest = (await swift.GetAsync("database_logs/" + after.Except(parts).Single())).Body;
        newest.Should().Contain("mysql.user").And.NotContain("information_schema.schemata");

        var discarded = await agent.Client.CallAsync(agent.Target, "guest_log_action", Action(discard: true), context);
        discarded!["published"]!.GetValue<long>().Should().Be(0);
        JsonNode.Parse((await swift.GetAsync($"database_logs?prefix={agent.Options.GuestId}/&format=json")).Body)!.AsArray().Should().BeEmpty();

        var noToken = () => agent.CallAsync("guest_log_action", Action(publish: true));
        (await noToken.Should().ThrowAsync<RemoteErrorException>()).Which.RemoteMessage.Should().Contain("auth_token");
    }
}
