namespace Flora.Tests;

/// <summary>
/// Tests that seed torch's global generator (<c>manual_seed</c>) and expect the draws that follow: they run alone, after
/// the parallel tests, because any test constructing a layer on another thread draws from the same generator in between.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalSeedCollection
{
    public const string Name = "torch's global generator";
}
