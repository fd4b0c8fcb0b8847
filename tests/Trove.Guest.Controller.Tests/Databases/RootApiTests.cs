using System.Net;
using FluentAssertions;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>
/// Root over HTTP: Trove answers GET from its root history (not the guest), enables with or without a password (200
/// with the guest's root user), records the enable, and disables only what was enabled (404, then 204).
/// </summary>
[Collection(GuestApiCollection.Name)]
public sealed class RootApiTests(GuestApiFixture api)
{
    [Fact]
    public async Task Root_is_enabled_recorded_shown_and_disabled_as_Trove_does()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var path = api.InstancePath(instance, api.ProjectA) + "/root";

        (await api.SendAsync(HttpMethod.Get, path)).Body.GetProperty("rootEnabled").GetBoolean().Should().BeFalse();
        var never = await api.SendAsync(HttpMethod.Delete, path);
        never.Status.Should().Be(HttpStatusCode.NotFound);
        never.FaultMessage("itemNotFound").Should().Be("Root user has never been enabled on the instance.");
        guest!.Calls.Should().BeEmpty("Trove reads its root history, not the guest");

        var enabled = await api.SendAsync(HttpMethod.Post, path);
        enabled.Status.Should().Be(HttpStatusCode.OK);
        enabled.Body.GetProperty("user").GetProperty("name").GetString().Should().Be("root");
        enabled.Body.GetProperty("user").GetProperty("password").GetString().Should().Be("generated-root-password", "the password is the guest's");
        guest.Calls.Select(c => c.Method).Should().Equal("enable_root");
        (await api.Instances.GetAsync(instance.Id, null, CancellationToken.None))!.RootEnabledAt.Should().NotBeNull();
        (await api.SendAsync(HttpMethod.Get, path)).Body.GetProperty("rootEnabled").GetBoolean().Should().BeTrue();

        var chosen = await api.SendAsync(HttpMethod.Post, path, """{"password": "My-Root-Pw1"}""");
        chosen.Body.GetProperty("user").GetProperty("password").GetString().Should().Be("My-Root-Pw1");
        var withPassword = guest.Calls.Last();
        withPassword.Method.Should().Be("enable_root_with_password");
        ((string?)withPassword.Arguments["root_password"]).Should().Be("My-Root-Pw1");

        (await api.SendAsync(HttpMethod.Delete, path)).Status.Should().Be(HttpStatusCode.NoContent);
        guest.Calls.Last().Method.Should().Be("disable_root");
        (await api.SendAsync(HttpMethod.Get, path)).Body.GetProperty("rootEnabled").GetBoolean().Should().BeTrue("Trove keeps the root history after a disable");
    }

    [Fact]
    public async Task A_hostile_root_password_is_refused_before_the_guest()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var path = api.InstancePath(instance, api.ProjectA) + "/root";
        var answer = await api.SendAsync(HttpMethod.Post, path, """{"password": "x'; DROP USER root; --"}""");
        answer.Status.Should().Be(HttpStatusCode.BadRequest);
        answer.Body.ToString().Should().NotContain("DROP USER");
        (await api.SendAsync(HttpMethod.Post, path, """{"password": 7}""")).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.SendAsync(HttpMethod.Post, path, "[1]")).Status.Should().Be(HttpStatusCode.BadRequest);
        guest!.Calls.Should().BeEmpty();
        (await api.Instances.GetAsync(instance.Id, null, CancellationToken.None))!.RootEnabledAt.Should().BeNull();
    }

    [Fact]
    public async Task A_guest_that_fails_to_enable_root_leaves_no_history()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.FailingMethod = "enable_root";
        var answer = await api.SendAsync(HttpMethod.Post, api.InstancePath(instance, api.ProjectA) + "/root");
        answer.Status.Should().Be(HttpStatusCode.BadRequest);
        answer.FaultMessage("badRequest").Should().Be("An error occurred communicating with the guest: enable_root failed on purpose.");
        (await api.Instances.GetAsync(instance.Id, null, CancellationToken.None))!.RootEnabledAt.Should().BeNull();
        (await api.SendAsync(HttpMethod.Get, api.InstancePath(instance, api.ProjectA) + "/root")).Body.GetProperty("rootEnabled").GetBoolean().Should().BeFalse();
    }
}
