namespace Trove.Guest.ImageBuilder.Registration;

/// <summary>What <c>trove-guest-image register</c> does: which image goes to which Glance, for which datastore version.</summary>
public sealed record RegisterRequest
{
    public required string ImagePath { get; init; }
    public required Uri GlanceUrl { get; init; }
    public required string Datastore { get; init; }
    public required string Version { get; init; }

    /// <summary>Sent as <c>X-Auth-Token</c>; never printed.</summary>
    public string? Token { get; init; }

    /// <summary>The Glance image name; <see cref="DefaultName"/> when not given.</summary>
    public string? Name { get; init; }

    /// <summary>The trove-manage command and any leading arguments (a wrapper script, its config); null skips Trove's tables.</summary>
    public IReadOnlyList<string>? TroveManage { get; init; } = ["trove-manage"];

    /// <summary>The guest agent's manager for the version; Trove's managers are named after their datastores.</summary>
    public string? Manager { get; init; }

    public string ImageName => Name is { Length: > 0 } n ? n : DefaultName;
    public string DefaultName => $"trove-guest-{Datastore}-{Version}";
    public string ManagerName => Manager is { Length: > 0 } m ? m : Datastore;

    /// <summary>The tags Trove's <c>--image-tags</c> lookup needs (it ANDs them).</summary>
    public IReadOnlyList<string> Tags => ["trove", Datastore];
}

/// <summary>A registration step failed; the message is meant for the operator as it is.</summary>
public sealed class RegistrationException(string message, Exception? inner = null) : Exception(message, inner);
