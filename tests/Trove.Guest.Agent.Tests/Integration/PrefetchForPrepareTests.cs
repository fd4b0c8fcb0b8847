using FluentAssertions;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;
using static Trove.Guest.Agent.Tests.Infrastructure.PageCacheProbe;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// An agent that starts on an instance not yet prepared reads what prepare will need (the datadir seed, the engine's
/// binary) into the page cache before the request arrives: the real agent runtime and broker, files dropped from the
/// cache first and measured with the real <c>fincore</c>.
/// </summary>
public sealed class PrefetchForPrepareTests(BrokerFixture broker) : IDisposable
{
    private const int Size = 24 * 1024 * 1024; // over the largest single read-ahead the kernel does for one WILLNEED
    private readonly string _dir = Directory.CreateTempSubdirectory("tgpf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task An_agent_waiting_for_prepare_reads_the_seed_and_the_engine_binary_into_memory()
    {
        var seed = Directory.CreateDirectory(Path.Combine(_dir, "seed", "mysql")).Parent!.FullName;
        var table = await WrittenAndDroppedAsync(Path.Combine(seed, "mysql", "global_priv.MAD"), Size);
        var binary = await WrittenAndDroppedAsync(Path.Combine(_dir, "engined"), Size);
        (await ResidentAsync(table)).Should().BeLessThan(Size / 2, "the test starts with the files out of the cache");
        (await ResidentAsync(binary)).Should().BeLessThan(Size / 2);

        await using var agent = await AgentUnderTest.StartAsync(broker.Url,
            configure: o => o with { Guest = o.Guest with { EngineDatadirSeed = seed, EngineBinary = binary } });

        agent.Runtime.Status.IsPrepared.Should().BeFalse();
        (await WaitResidentAsync(table, Size)).Should().Be(Size, "the seed is copied onto the volume first");
        (await WaitResidentAsync(binary, Size)).Should().Be(Size, "the engine's binary is started next");
    }
}
