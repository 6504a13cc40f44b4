using System.ComponentModel;
using System.IO;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Flora.Tests.PublicApi;

/// <summary>
/// Pins the public surface of Flora.dll (DESIGN §8): the committed PublicAPI.verified.txt lists every visible type and
/// member with its signature, so a type that becomes public, a member that is added or removed, or a signature that
/// changes fails here until the change is accepted and docs/API.md describes it.
/// </summary>
public class PublicApiTests
{
    private static readonly Assembly Flora = typeof(FloraInjector).Assembly;

    [Fact]
    public void The_public_API_is_the_verified_one() => VerifiedFile.Verify(PublicApiText.Render(Flora), "PublicAPI");

    [Fact]
    public void Generated_code_plumbing_lives_in_Flora_Internal_and_is_hidden_from_IntelliSense()
    {
        foreach (var type in PublicApiText.VisibleTypes(Flora))
        {
            Assert.True(type.Namespace is "Flora" or "Flora.Internal", $"{type.FullName}: public types live in Flora (for users) or Flora.Internal (for generated code).");
            if (type.Namespace != "Flora.Internal") continue;
            var browsable = type.GetCustomAttribute<EditorBrowsableAttribute>();
            Assert.True(browsable?.State == EditorBrowsableState.Never, $"{type.FullName} is for generated code: mark it [EditorBrowsable(EditorBrowsableState.Never)].");
        }
    }

    [Fact]
    public void Docs_API_md_describes_every_public_type()
    {
        string api = File.ReadAllText(Path.Combine(VerifiedFile.RepositoryRoot(), "docs", "API.md"));
        var missing = PublicApiText.VisibleTypes(Flora)
            .Select(t => t.Name.Split('`')[0])
            .Where(name => !Regex.IsMatch(api, "`(?:[A-Za-z]+\\.)*" + name + "(?![A-Za-z0-9_])"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(missing.Count == 0, "docs/API.md does not name these public types (one line each, saying what they are for): " + string.Join(", ", missing));
    }
}
