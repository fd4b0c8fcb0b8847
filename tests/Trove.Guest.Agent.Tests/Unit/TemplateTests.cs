using FluentAssertions;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Managers.Mysql;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>The shipped templates and rules in templates/: they render, scale with the flavor, and parse.</summary>
public sealed class TemplateTests
{
    private static AgentOptions Options(string guestId = "g-1") => new()
    {
        GuestId = guestId,
        DatastoreManager = "mariadb",
        DatastoreVersion = "10.11",
        TransportUrl = "rabbit://h/",
        Datastore = new DatastoreOptions(),
        Guest = new TroveGuestOptions { TemplatesDir = Path.Combine(RepoPaths.Root, "templates"), EngineSocket = "/run/m.sock", EnginePort = 3306 },
    };

    [Theory]
    [InlineData(512, "innodb_buffer_pool_size = 307M", "performance_schema = OFF", "max_connections = 114")]
    [InlineData(4096, "innodb_buffer_pool_size = 2457M", "performance_schema = ON", "max_connections = 562")]
    [InlineData(128, "innodb_buffer_pool_size = 153M", "performance_schema = OFF", "max_connections = 82")]
    public void My_cnf_scales_with_the_flavor(int ram, string pool, string ps, string connections)
    {
        var text = new MyCnfTemplate(Options()).Render(ram, "/var/lib/mysql/data", "10.11");
        text.Should().Contain(pool).And.Contain(ps).And.Contain(connections)
            .And.Contain("datadir = /var/lib/mysql/data").And.Contain("socket = /run/m.sock").And.Contain("!includedir /etc/mysql/conf.d/");
        text.Should().NotContain("{{");
    }

    [Fact]
    public void Server_ids_are_stable_and_differ_between_guests()
    {
        MyCnfTemplate.ServerId("a").Should().Be(MyCnfTemplate.ServerId("a"));
        Enumerable.Range(0, 1000).Select(i => MyCnfTemplate.ServerId($"guest-{i}")).Should().OnlyHaveUniqueItems().And.OnlyContain(id => id > 0);
    }

    [Fact]
    public void The_rules_file_parses_and_knows_static_from_dynamic()
    {
        var rules = ConfigurationRules.Load(Path.Combine(RepoPaths.Root, "templates", "mariadb", "validation-rules.json"));
        rules.Rules.Should().HaveCountGreaterThan(30);
        rules.RequiresRestart("lower_case_table_names").Should().BeTrue();
        rules.RequiresRestart("max_connections").Should().BeFalse();
        rules.Rules["innodb_io_capacity"].Max.Should().Be(18446744073709551615m);
    }

    [Fact]
    public void A_missing_template_is_a_clear_error()
    {
        var options = Options() with { Guest = new TroveGuestOptions { TemplatesDir = "/nonexistent" } };
        FluentActions.Invoking(() => new MyCnfTemplate(options).Render(512, "/d", null))
            .Should().Throw<Messaging.Server.RpcFailureException>().WithMessage("*no template at /nonexistent/mariadb/my.cnf.sbn*");
    }
}
