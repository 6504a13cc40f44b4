using System;
using System.Collections.Generic;

namespace Flora.Reports;

/// <summary>The few statistics the reports need: mean, sample standard deviation, Student's t quantiles.</summary>
public static class Statistics
{
    /// <summary>Arithmetic mean; NaN for no values.</summary>
    public static double Mean(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            sum += values[i];
        }
        return sum / values.Count;
    }

    /// <summary>Sample standard deviation (divisor n − 1); 0 for a single value, NaN for none.</summary>
    public static double SampleStandardDeviation(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return double.NaN;
        }
        if (values.Count == 1)
        {
            return 0.0;
        }
        double mean = Mean(values);
        double squares = 0;
        for (int i = 0; i < values.Count; i++)
        {
            double d = values[i] - mean;
            squares += d * d;
        }
        return Math.Sqrt(squares / (values.Count - 1));
    }

    /// <summary>
    /// The p-quantile of Student's t distribution with <paramref name="degreesOfFreedom"/> degrees of freedom,
    /// exact up to ~1e-10 for any df (closed forms for df 1 and 2, otherwise the t CDF through the regularized
    /// incomplete beta function, inverted by bisection). E.g. StudentTQuantile(0.975, 4) = 2.776.
    /// </summary>
    public static double StudentTQuantile(double p, double degreesOfFreedom)
    {
        if (p is not (> 0.0 and < 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "p must lie strictly between 0 and 1.");
        }
        if (!(degreesOfFreedom > 0.0))
        {
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "Degrees of freedom must be positive.");
        }
        if (p == 0.5)
        {
            return 0.0;
        }
        if (p < 0.5)
        {
            return -StudentTQuantile(1.0 - p, degreesOfFreedom);
        }
        if (degreesOfFreedom == 1.0)
        {
            return Math.Tan(Math.PI * (p - 0.5));
        }
        if (degreesOfFreedom == 2.0)
        {
            return (2.0 * p - 1.0) / Math.Sqrt(2.0 * p * (1.0 - p));
        }
        double lo = 0.0;
        double hi = 1.0;
        while (StudentTCdf(hi, degreesOfFreedom) < p)
        {
            lo = hi;
            hi *= 2.0;
            if (hi > 1e12)
            {
                return hi;
            }
        }
        for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (StudentTCdf(mid, degreesOfFreedom) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>The cumulative distribution function of Student's t distribution.</summary>
    public static double StudentTCdf(double t, double degreesOfFreedom)
    {
        if (!(degreesOfFreedom > 0.0))
        {
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "Degrees of freedom must be positive.");
        }
        if (double.IsNaN(t))
        {
            return double.NaN;
        }
        double x = degreesOfFreedom / (degreesOfFreedom + t * t);
        double tail = 0.5 * RegularizedIncompleteBeta(x, 0.5 * degreesOfFreedom, 0.5);
        return t > 0 ? 1.0 - tail : tail;
    }

    /// <summary>I_x(a, b), the regularized incomplete beta function (continued fraction, modified Lentz).</summary>
    internal static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0.0)
        {
            return 0.0;
        }
        if (x >= 1.0)
        {
            return 1.0;
        }
        double logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1.0 - x);
        double front = Math.Exp(logFront);
        if (x < (a + 1.0) / (a + b + 2.0))
        {
            return front * BetaContinuedFraction(x, a, b) / a;
        }
        return 1.0 - front * BetaContinuedFraction(1.0 - x, b, a) / b;
    }

    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const double Tiny = 1e-300;
        const double Epsilon = 1e-15;
        double qab = a + b;
        double qap = a + 1.0;
        double qam = a - 1.0;
        double c = 1.0;
        double d = 1.0 / AwayFromZero(1.0 - qab * x / qap);
        double h = d;
        for (int m = 1; m <= 10_000; m++)
        {
            int m2 = 2 * m;
            h *= Step(m * (b - m) * x / ((qam + m2) * (a + m2)));
            double delta = Step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)));
            h *= delta;
            if (Math.Abs(delta - 1.0) < Epsilon)
            {
                break;
            }
        }
        return h;

        // One term of the fraction by the modified Lentz method: the factor it multiplies h by.
        double Step(double aa)
        {
            d = 1.0 / AwayFromZero(1.0 + aa * d);
            c = AwayFromZero(1.0 + aa / c);
            return d * c;
        }

        static double AwayFromZero(double value) => Math.Abs(value) < Tiny ? Tiny : value;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative).</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1.0 - x);
        }
        x -= 1.0;
        double sum = coefficients[0];
        for (int i = 1; i < coefficients.Length; i++)
        {
            sum += coefficients[i] / (x + i);
        }
        double t = x + 7.5;
        return 0.5 * Math.Log(2.0 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
