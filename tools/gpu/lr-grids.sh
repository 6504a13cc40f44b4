# Sourced by resnet18-sweep.sh and resnet18-mnist.sh: the learning rates each method's validation search tries on the
# ImageNet ResNet-18 (half-decade steps; the first H200 run's choices sat inside these: docs/results/gpu-resnet18).
full_grid="1e-4 3.16e-4 1e-3 3.16e-3 1e-2"
bitfit_grid="3.16e-3 1e-2 3.16e-2 1e-1 3.16e-1 1"
adapter_grid="3.16e-4 1e-3 3.16e-3 1e-2 3.16e-2 1e-1"
