using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;
using Trove.Guest.Cli.Waiting;

namespace Trove.Guest.Controller.Tests.Cli;

/// <summary>The pieces of the CLI's output with rules of their own: prettytable's layout, the spinner on a terminal, troveclient's quoting.</summary>
public sealed class CliOutputTests
{
    [Fact]
    public void Tables_lay_out_multi_line_cells_and_numbers_as_prettytable_does()
    {
        var table = new PrettyTable(["Property", "Value"], [false, true]);
        table.Add("versions", "10.11 (a)\n10.6 (b)");
        table.Add("count", "7");
        table.SortBy(0);
        table.Render().Split('\n').Should().Equal(
            "+----------+-----------+",
            "| Property |     Value |",
            "+----------+-----------+",
            "| count    |         7 |",
            "| versions | 10.11 (a) |",
            "|          |  10.6 (b) |",
            "+----------+-----------+");
        Column.LabelFor("datastore_version").Should().Be("Datastore Version");
        Column.LabelFor("flavor_id").Should().Be("Flavor ID");
        Column.LabelFor("id").Should().Be("ID");
        ResourcePrinter.Cell(JsonValue.Create(false)).Should().Be("False");
        ResourcePrinter.Cell(null).Should().Be("None");
    }

    [Fact]
    public async Task On_a_terminal_the_wait_redraws_a_spinner_and_clears_it_before_each_line()
    {
        var stderr = new StringWriter();
        var statuses = new Queue<string>(["BUILD", "BUILD", "ACTIVE"]);
        var waiter = new StatusWaiter(stderr, interactive: true, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(30));
        var result = await waiter.WaitAsync(WaitGoal.InstanceActive("create"), "instance db1 (i-1)",
            _ => Task.FromResult<JsonObject?>(new JsonObject { ["id"] = "i-1", ["status"] = statuses.Dequeue() }), CancellationToken.None);

        result.ExitCode.Should().Be(0);
        var text = stderr.ToString();
        text.Should().Contain("\r| instance db1 (i-1): BUILD, waited 0 s").And.Contain("\r/ instance db1 (i-1): BUILD", "the spinner turns between polls");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.LastIndexOf('\r') + 1)..]).ToList();
        lines.Should().Equal("instance db1 (i-1): BUILD (0 s)", "instance db1 (i-1): ACTIVE (0 s)", "instance db1 (i-1): create finished after 0 s");
    }

    [Fact]
    public void User_and_host_are_quoted_like_troveclient()
    {
        PathSegment.UserHost("app", "10.0.0.%").Should().Be("app%4010%2e0%2e0%2e%25");
        PathSegment.UserHost("a.b", null).Should().Be("a%2eb");
    }
}
