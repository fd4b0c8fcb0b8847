using System.Net;
using System.Text.Json.Nodes;
using FluentAssertions;

namespace Trove.Guest.Controller.Tests.EndToEnd;

/// <summary>
/// A delete while RabbitMQ is away (its node stopped, then started again): the server goes, and the delete flow gives
/// up on the guest's queues after its bound instead of waiting for the broker for ever; the instance disappears from
/// the API with a warning in the controller's log.
/// </summary>
public sealed class DeleteWithoutBrokerTests(ControllerProcess controller) : IClassFixture<ControllerProcess>
{
    [Fact]
    public async Task A_delete_goes_through_while_the_broker_is_away()
    {
        var id = await controller.CreateInstanceAsync("no-broker");
        await controller.WaitForInstanceAsync(id);
        var server = await controller.ServerAsync(id);

        await controller.Broker.StopNodeAsync();
        try
        {
            (await controller.ApiAsync(HttpMethod.Delete, $"/instances/{id}")).Status.Should().Be(HttpStatusCode.Accepted);
            // The flow's bound on the queues is 30 s; the server's own deletion takes a moment more.
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while ((await controller.ApiAsync(HttpMethod.Get, $"/instances/{id}")).Status != HttpStatusCode.NotFound)
            {
                DateTime.UtcNow.Should().BeBefore(deadline, $"the delete of {id} should not wait for the broker\n{controller.Log}");
                await Task.Delay(500);
            }
            Directory.Exists(server!.Directory).Should().BeFalse("the server, its volume and its mount are gone");
            controller.Log.Should().Contain($"The queues of instance {id} were not deleted");
        }
        finally
        {
            await controller.Broker.StartNodeAsync();
        }
    }
}
