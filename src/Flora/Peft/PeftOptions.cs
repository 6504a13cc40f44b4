using System;

namespace Flora;

/// <summary>How <see cref="FloraInjector.AttachFromPeft"/> reads a PEFT directory.</summary>
public sealed record PeftImportOptions
{
    /// <summary>
    /// Maps a PEFT module path (the base model's <c>named_modules()</c> name in PyTorch, e.g. <c>layer1.0.conv1</c>) to the
    /// path of the same module in the TorchSharp model. Null: the names are the same (TorchSharp's TorchVision models use
    /// torchvision's names). With a map, the targets and modules to save are the ones the file holds; without one, Flora
    /// also checks that every module PEFT's <c>target_modules</c> / <c>modules_to_save</c> select in the model is in the file.
    /// </summary>
    public Func<string, string>? MapPath { get; init; }

    /// <summary>
    /// Receives each warning of the import, as a message that names the file, the key and what it means: a field PEFT's
    /// <c>LoraConfig</c> does not know (ignored, as PEFT ignores unknown fields with a warning; typically one of a newer
    /// PEFT), or an <c>init_lora_weights</c> of <c>"lora_ga"</c> (loaded as PEFT loads it, but LoRA-GA had rewritten the
    /// base weights the adapter was trained on). Null (the default): warnings are dropped; Flora never writes to the
    /// console. For example <c>OnWarning = Console.Error.WriteLine</c>, or a logger's method.
    /// </summary>
    public Action<string>? OnWarning { get; init; }
}

/// <summary>How <see cref="FloraAttachment.SavePeft(string, PeftExportOptions)"/> writes a PEFT directory.</summary>
public sealed record PeftExportOptions
{
    /// <summary>
    /// Maps a Flora module path to the module's name in the PyTorch model PEFT will load the directory onto. Null: the
    /// names are the same.
    /// </summary>
    public Func<string, string>? MapPath { get; init; }
}
