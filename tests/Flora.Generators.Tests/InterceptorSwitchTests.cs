using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>When the generator emits interceptors (issue 17): only when the compiler enables our namespace and the project did not opt out.</summary>
public sealed class InterceptorSwitchTests
{
    private const string Source = Usings + """
        public partial class Net : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(4, 4);
            private readonly Linear plain = Linear(4, 4);
            public Net() : base(nameof(Net)) => RegisterComponents();
            public override Tensor forward(Tensor x) => plain.forward(fc.forward(x));
        }
        """;

    [Theory]
    [InlineData("Flora.Generated.Interceptors", "true", true)]
    [InlineData("Flora.Generated.Interceptors", null, true)]        // the property unset: the namespace decides
    [InlineData("Some.Other;Flora.Generated", "True", true)]        // a containing namespace enables ours
    [InlineData("Flora.Generated.Interceptors", "false", false)]    // the opt-out
    [InlineData("Flora.Generated.Interceptors", "FALSE", false)]
    [InlineData("Some.Other", "true", false)]                       // InterceptorsNamespaces without ours: no interceptors (they would not compile)
    [InlineData(null, "true", false)]                               // a compiler or build that sets no InterceptorsNamespaces
    public void Interceptors_are_emitted_only_when_enabled(string? namespaces, string? property, bool emitted)
    {
        var run = InterceptionCompiler.Run(Source, namespaces, property);
        run.AssertCompilesCleanly();
        Assert.Equal(emitted ? new[] { "Net.Flora.g.cs", "Net.Flora.Interceptors.g.cs" } : new[] { "Net.Flora.g.cs" }, run.Sources.Select(s => s.HintName));
        if (emitted) Assert.Single(run.Source("Net.Flora.Interceptors.g.cs").Split('\n'), l => l.Contains("InterceptsLocation(1,"));
    }

    [Fact]
    public void A_model_without_direct_calls_on_targets_gets_no_interceptors_file()
    {
        // Through a cast the call does not reach the member itself: call(x) runs the adapter through the hooks.
        var run = InterceptionCompiler.Run(Source.Replace("fc.forward(x)", "((Module<Tensor, Tensor>)fc).call(x)"));
        run.AssertCompilesCleanly();
        Assert.Equal("Net.Flora.g.cs", Assert.Single(run.Sources).HintName);
    }
}
