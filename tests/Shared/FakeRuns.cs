using System;
using System.Linq;
using Flora.Reports;

namespace Flora.Testing;

/// <summary>Made-up runs for the report tests.</summary>
internal static class FakeRuns
{
    public static RunResult Run(
        string method,
        int seed,
        double finalAccuracy,
        MethodKind kind = MethodKind.Lora,
        string? budget = "A",
        long trainable = 2_500,
        long total = 100_000,
        double[]? epochAccuracy = null,
        double secondsPerEpoch = 10.0,
        long? peakBytes = 1_000_000)
    {
        double[] epochs = epochAccuracy ?? [Math.Max(0.0, finalAccuracy - 0.05), finalAccuracy];
        double[] losses = epochs.Select((_, i) => 1.0 / (i + 1)).ToArray();
        return new RunResult(method, kind, budget, seed, trainable, total, epochs, finalAccuracy, losses, secondsPerEpoch, peakBytes);
    }

    /// <summary>A realistic comparison: 8 methods × <paramref name="seeds"/> seeds, <paramref name="epochs"/> epochs.</summary>
    public static List<RunResult> Realistic(int seeds = 3, int epochs = 6)
    {
        const long Base = 113_738;
        var methods = new (string Name, MethodKind Kind, string? Budget, long Trainable, double Accuracy)[]
        {
            ("Full fine-tuning", MethodKind.FullFineTuning, null, Base, 0.912),
            ("BitFit", MethodKind.BitFit, null, 394, 0.861),
            ("LoRA (budget A)", MethodKind.Lora, "A", 2_912, 0.889),
            ("DoRA (budget A)", MethodKind.Dora, "A", 3_008, 0.891),
            ("FLoRA (budget A)", MethodKind.Flora, "A", 2_896, 0.894),
            ("LoRA (budget B)", MethodKind.Lora, "B", 11_648, 0.901),
            ("DoRA (budget B)", MethodKind.Dora, "B", 11_840, 0.902),
            ("FLoRA (budget B)", MethodKind.Flora, "B", 11_570, 0.904),
        };
        var random = new Random(1234);
        var runs = new List<RunResult>();
        foreach (var m in methods)
        {
            for (int seed = 1; seed <= seeds; seed++)
            {
                double final = m.Accuracy + 0.004 * (random.NextDouble() - 0.5);
                double[] accuracy = Enumerable.Range(1, epochs)
                    .Select(e => final - (final - 0.7) * Math.Exp(-0.6 * (e - 1)))
                    .ToArray();
                accuracy[^1] = final;
                long total = Base + (m.Kind is MethodKind.FullFineTuning or MethodKind.BitFit ? 0 : m.Trainable);
                runs.Add(Run(m.Name, seed, final, m.Kind, m.Budget, m.Trainable, total, accuracy, 10.0 + random.NextDouble(), 150_000_000 + m.Trainable * 400));
            }
        }
        return runs;
    }

    /// <summary>A fresh empty folder under the temp folder.</summary>
    public static string TempDirectory()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flora-reports-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
