using FluentAssertions;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Transport;

namespace Trove.Guest.Agent.Tests.Unit;

public sealed class ConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tg-conf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string GuestInfo = """
        [DEFAULT]
        guest_id = 11111111-2222-3333-4444-555555555555
        datastore_manager = mariadb
        datastore_version = 10.11
        tenant_id = p1
        instance_rpc_encr_key = secretkey
        """;

    [Fact]
    public void Config_dir_reads_files_in_sorted_order_and_later_files_win()
    {
        Write("guest_info.conf", GuestInfo);
        Write("trove-guestagent.conf", """
            [DEFAULT]
            transport_url = rabbit://u:p@10.0.0.1:5672,u:p@10.0.0.2:5672/
            control_exchange = trove
            report_interval = 20
            # a comment
            some_unknown_option = x

            [oslo_messaging_rabbit]
            amqp_durable_queues = true

            [mariadb]
            mount_point = /srv/db
            ignore_users = os_admin, root, monitor

            [trove_guest]
            engine_supervisor = process
            engine_port = 3307
            """);
        var options = AgentConfigLoader.Load(["--config-dir", _dir]);
        options.GuestId.Should().Be("11111111-2222-3333-4444-555555555555");
        options.Topic.Should().Be("guestagent.11111111-2222-3333-4444-555555555555");
        options.DatastoreManager.Should().Be("mariadb");
        options.InstanceRpcEncrKey.Should().Be("secretkey");
        options.ControlExchange.Should().Be("trove");
        options.ConductorQueue.Should().Be("trove-conductor");
        options.ReportInterval.Should().Be(TimeSpan.FromSeconds(20));
        options.Datastore.MountPoint.Should().Be("/srv/db");
        options.Datastore.IgnoreUsers.Should().Equal("os_admin", "root", "monitor");
        options.Datastore.IgnoreDbs.Should().Contain("sys", "MariaDB has shipped a sys schema since 10.6");
        options.Guest.EngineSupervisor.Should().Be(EngineSupervisor.Process);
        options.Guest.EnginePort.Should().Be(3307);
        RabbitDriverOptions.FromUrl(TransportUrl.Parse(options.TransportUrl)).DurableQueues.Should().BeTrue("[oslo_messaging_rabbit] reaches the transport");
        TransportUrl.Parse(options.TransportUrl).Hosts.Should().HaveCount(2);
    }

    [Fact]
    public void Config_files_are_read_in_the_order_given()
    {
        var a = Write("a.conf", GuestInfo + "\ntransport_url = rabbit://first/\n");
        var b = Write("b.conf", "[DEFAULT]\ntransport_url = rabbit://second/\n");
        AgentConfigLoader.Load(["--config-file", a, "--config-file", b]).TransportUrl.Should().Be("rabbit://second/");
        AgentConfigLoader.Load([$"--config-file={b}", $"--config-file={a}"]).TransportUrl.Should().Be("rabbit://first/");
    }

    [Theory]
    [InlineData("report_interval = soon", "report_interval", "not an integer")]
    [InlineData("root_grant_option = maybe", "root_grant_option", "not a boolean")]
    [InlineData("report_interval = 0", "report_interval", "out of range")]
    public void A_bad_value_names_file_line_section_and_key(string line, string key, string problem)
    {
        var path = Write("bad.conf", GuestInfo + "\ntransport_url = rabbit://h/\n" + line + "\n");
        var error = FluentActions.Invoking(() => AgentConfigLoader.Load(["--config-file", path])).Should().Throw<ConfigException>().Which;
        error.Message.Should().Contain(path).And.Contain("[DEFAULT]").And.Contain(key).And.Contain(problem);
    }

    [Fact]
    public void Our_section_is_validated_too()
    {
        var path = Write("bad.conf", GuestInfo + "\ntransport_url = rabbit://h/\n[trove_guest]\nengine_supervisor = docker\n");
        FluentActions.Invoking(() => AgentConfigLoader.Load(["--config-file", path])).Should().Throw<ConfigException>()
            .WithMessage("*[trove_guest] engine_supervisor*'docker' is not one of systemd, process*");
    }

    [Fact]
    public void The_images_datadir_seed_is_read_and_must_be_an_absolute_path()
    {
        var good = Write("seed.conf", GuestInfo + "\ntransport_url = rabbit://h/\n[trove_guest]\nengine_datadir_seed = /usr/lib/trove-guest/seed/mariadb\n");
        AgentConfigLoader.Load(["--config-file", good]).Guest.EngineDatadirSeed.Should().Be("/usr/lib/trove-guest/seed/mariadb");
        AgentConfigLoader.Load(["--config-file", Write("none.conf", GuestInfo + "\ntransport_url = rabbit://h/\n")]).Guest.EngineDatadirSeed.Should().BeNull();
        var bad = Write("bad-seed.conf", GuestInfo + "\ntransport_url = rabbit://h/\n[trove_guest]\nengine_datadir_seed = seed/mariadb\n");
        FluentActions.Invoking(() => AgentConfigLoader.Load(["--config-file", bad])).Should().Throw<ConfigException>()
            .WithMessage("*engine_datadir_seed 'seed/mariadb' is not an absolute path*");
    }

    [Theory]
    [InlineData("[DEFAULT]\ndatastore_manager = mysql\ntransport_url = rabbit://h/\n", "guest_id is required")]
    [InlineData("[DEFAULT]\nguest_id = g\ndatastore_manager = cassandra\ntransport_url = rabbit://h/\n", "serves mysql and mariadb")]
    [InlineData("[DEFAULT]\nguest_id = g\ndatastore_manager = mysql\n", "transport_url is required")]
    [InlineData("[DEFAULT]\nguest_id = g\ndatastore_manager = mysql\ntransport_url = http://h/\n", "not supported")]
    [InlineData("guest_id = g\n", "before any [section]")]
    [InlineData("[DEFAULT\nguest_id = g\n", "no closing")]
    public void Start_up_refuses_unusable_configurations(string text, string message)
    {
        var path = Write("x.conf", text);
        FluentActions.Invoking(() => AgentConfigLoader.Load(["--config-file", path])).Should().Throw<ConfigException>().WithMessage($"*{message}*");
    }

    [Fact]
    public void Missing_files_and_directories_are_clear_errors()
    {
        FluentActions.Invoking(() => AgentConfigLoader.Load([])).Should().Throw<ConfigException>().WithMessage("*--config-dir*");
        FluentActions.Invoking(() => AgentConfigLoader.Load(["--config-dir", "/nonexistent/conf.d"])).Should().Throw<ConfigException>().WithMessage("*no such directory*");
        FluentActions.Invoking(() => AgentConfigLoader.Load(["--config-file", "/nonexistent.conf"])).Should().Throw<ConfigException>().WithMessage("*no such file*");
    }

    [Fact]
    public void Continuation_lines_extend_a_value()
    {
        var path = Write("c.conf", GuestInfo + "\ntransport_url = rabbit://h/\n[mariadb]\nignore_dbs = mysql,\n    information_schema\n");
        AgentConfigLoader.Load(["--config-file", path]).Datastore.IgnoreDbs.Should().Equal("mysql", "information_schema");
    }
}
