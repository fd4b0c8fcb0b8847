using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Elements;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// Element expansion against diskimage-builder's own (its element-info.py on its shipped elements is the reference),
/// and the errors DIB gives without naming the chain.
/// </summary>
public sealed class ElementResolutionTests : IDisposable
{
    private readonly ElementTree _tree = new();

    public void Dispose() => _tree.Dispose();

    private static string DibElements => ElementLibrary.DiskImageBuilderElements().Single();

    private static async Task<string[]> DibExpansionAsync(params string[] elements)
    {
        var result = await Cli.Wrap("/usr/bin/python3")
            .WithArguments(["/usr/lib/python3/dist-packages/diskimage_builder/lib/element-info.py", .. elements])
            .WithEnvironmentVariables(e => e.Set("ELEMENTS_PATH", DibElements))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        result.ExitCode.Should().Be(0, result.StandardError);
        return result.StandardOutput.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
    }

    [Theory]
    [InlineData("debian-minimal", "vm")]
    [InlineData("debian-minimal", "vm", "cloud-init-datasources", "install-static")]
    [InlineData("ubuntu-minimal", "vm", "block-device-gpt", "growroot")]
    [InlineData("debian", "vm", "openssh-server", "devuser", "manifests")]
    public async Task The_expanded_set_equals_diskimage_builders_own(params string[] requested)
    {
        var library = ElementLibrary.Load(null, [DibElements]);
        var withDefaults = ElementResolver.WithDefaults(requested, skipBase: false);
        var ours = ElementResolver.Resolve(library, withDefaults);
        ours.Names.Should().BeEquivalentTo(await DibExpansionAsync([.. withDefaults]));
    }

    [Fact]
    public void Debian_minimal_vm_is_the_fifteen_elements_DIB_builds()
    {
        var library = ElementLibrary.Load(null, [DibElements]);
        var resolved = ElementResolver.Resolve(library, ElementResolver.WithDefaults(["debian-minimal", "vm"], skipBase: false));
        resolved.Names.Should().Equal("base", "block-device-mbr", "bootloader", "debian-minimal", "debootstrap", "dib-init-system", "dpkg",
            "install-bin", "install-types", "manifests", "modprobe", "package-installs", "pkg-map", "sysprep", "vm");
        resolved.ProvidedBy["operating-system"].Should().Be("debian-minimal");
        resolved.ProvidedBy["block-device"].Should().Be("block-device-mbr");
    }

    [Fact]
    public void The_first_path_holding_an_element_wins()
    {
        _tree.With("debian-minimal", ("element-provides", "operating-system\n"), ("element-deps", "\n"));
        var library = ElementLibrary.Load(_tree.Root, [DibElements]);
        library.TryGet("debian-minimal", out var element).Should().BeTrue();
        element.Path.Should().StartWith(_tree.Root);
        library.Overrides.Should().ContainSingle(o => o.Name == "debian-minimal" && o.Hidden.StartsWith(DibElements));
    }

    [Fact]
    public void A_missing_element_names_the_chain_that_needed_it()
    {
        _tree.With("os", ("element-provides", "operating-system"))
            .With("a", ("element-deps", "b\n"))
            .With("b", ("element-deps", "\nc\n\n"))
            .With("c", ("element-deps", "nowhere"));
        var resolve = () => ElementResolver.Resolve(ElementLibrary.Load(_tree.Root, []), ["os", "a"]);
        resolve.Should().Throw<ElementException>().WithMessage("element 'nowhere' not found (needed by c <- b <- a)*");
    }

    [Fact]
    public void A_cycle_is_refused_with_its_path()
    {
        _tree.With("os", ("element-provides", "operating-system"))
            .With("a", ("element-deps", "b"))
            .With("b", ("element-deps", "c"))
            .With("c", ("element-deps", "a"));
        var resolve = () => ElementResolver.Resolve(ElementLibrary.Load(_tree.Root, []), ["os", "a"]);
        resolve.Should().Throw<ElementException>().WithMessage("element dependency cycle: a -> b -> c -> a");
    }

    [Fact]
    public void Conflicting_provides_and_asking_for_a_provided_element_are_errors()
    {
        _tree.With("os1", ("element-provides", "operating-system"))
            .With("os2", ("element-provides", "operating-system"))
            .With("disk", ("element-provides", "block-device"))
            .With("other-disk", ("element-provides", "block-device"))
            .With("vmish", ("element-deps", "other-disk"));
        var library = ElementLibrary.Load(_tree.Root, []);
        var twoOs = () => ElementResolver.Resolve(library, ["os1", "os2"]);
        twoOs.Should().Throw<ElementException>().WithMessage("'operating-system' is provided by both 'os1' and 'os2'*");
        var twoDisks = () => ElementResolver.Resolve(library, ["os1", "disk", "vmish"]);
        twoDisks.Should().Throw<ElementException>().WithMessage("'block-device' is provided by both 'disk' and 'other-disk' (needed by vmish)*");
        var provided = () => ElementResolver.Resolve(library, ["os1", "operating-system"]);
        provided.Should().Throw<ElementException>().WithMessage("'operating-system' was asked for, but 'os1' provides it already*");
        var noOs = () => ElementResolver.Resolve(library, ["disk"]);
        noOs.Should().Throw<ElementException>().WithMessage("no element provides 'operating-system'*");
    }

    [Fact]
    public void An_elements_path_entry_that_is_not_a_directory_is_an_error()
    {
        var load = () => ElementLibrary.Load(_tree.Root + ":/nonexistent/elements", []);
        load.Should().Throw<ElementException>().WithMessage("ELEMENTS_PATH entry '/nonexistent/elements' is not a directory");
    }

    [Fact]
    public void Defaults_add_base_and_a_block_device_for_vm_as_disk_image_create_does()
    {
        ElementResolver.WithDefaults(["debian-minimal", "vm"], skipBase: false).Should().Equal("base", "debian-minimal", "vm", "block-device-mbr");
        ElementResolver.WithDefaults(["debian-minimal", "vm", "block-device-gpt"], skipBase: true).Should().Equal("debian-minimal", "vm", "block-device-gpt");
    }
}
