namespace Flora.Analyzers.Tests;

/// <summary>FLORA015's fix: the marked string literal becomes the usable name the diagnostic carries.</summary>
[Trait("Diagnostic", "FLORA015")]
public sealed class UsableAdapterNameCodeFixTests
{
    private static string Calls(string body) => $$"""
        public static class Calls
        {
            public static void Use(FloraAttachment attachment)
            {
        {{body}}
            }
        }
        """;

    [Fact]
    public Task Refused_characters_become_underscores() =>
        VerifyFix<AdapterNameAnalyzer, CodeFixes.UsableAdapterNameCodeFix>.FixAsync(
            Calls("""        attachment.AddAdapter({|FLORA015:"task b/v2"|}, FloraMethod.Lora); // the second task"""),
            Calls("""        attachment.AddAdapter("task_b_v2", FloraMethod.Lora); // the second task"""),
            "Use the name \"task_b_v2\"");

    [Fact]
    public Task A_name_with_nothing_usable_becomes_adapter_1() =>
        VerifyFix<AdapterNameAnalyzer, CodeFixes.UsableAdapterNameCodeFix>.FixAsync(
            Calls("""
                    attachment.AddAdapter({|FLORA015:""|}, FloraMethod.Lora);
                    attachment.SetAdapters(new[] { "default", {|FLORA015:"__base__"|} });
                    attachment.DeleteAdapter({|FLORA015:".."|});
            """),
            Calls("""
                    attachment.AddAdapter("adapter_1", FloraMethod.Lora);
                    attachment.SetAdapters(new[] { "default", "adapter_1" });
                    attachment.DeleteAdapter("adapter_1");
            """));

    [Fact]
    public Task A_dot_name_made_of_underscores_stays_usable() =>
        VerifyFix<AdapterNameAnalyzer, CodeFixes.UsableAdapterNameCodeFix>.FixAsync(
            Calls("""        attachment.SetAdapter({|FLORA015:". "|});"""),
            Calls("""        attachment.SetAdapter("._");"""),
            "Use the name \"._\"");

    [Fact]
    public Task A_named_constant_is_not_rewritten() =>
        VerifyFix<AdapterNameAnalyzer, CodeFixes.UsableAdapterNameCodeFix>.FixAsync(
            Calls("""
                    const string Name = "task b";
                    attachment.AddAdapter({|FLORA015:Name|}, FloraMethod.Lora);
            """),
            Calls("""
                    const string Name = "task b";
                    attachment.AddAdapter({|FLORA015:Name|}, FloraMethod.Lora);
            """));
}
