namespace Trove.Guest.Cli.KickStart;

/// <summary>What one kick-start was asked for (its options, defaults applied).</summary>
/// <param name="UserName">--os-username, --os-password, --os-project-name when given (they win over the environment and the bootstrap user).</param>
internal sealed record KickStartOptions(string Datastore, string ConfigPath, string? Image, string? Flavor, int SizeGb, string InstanceName, TimeSpan Timeout,
    string? UserName, string? Password, string? Project)
{
    // The password never shows in a record's printout.
    public override string ToString() => $"KickStartOptions {{ Datastore = {Datastore}, ConfigPath = {ConfigPath}, InstanceName = {InstanceName} }}";
}
