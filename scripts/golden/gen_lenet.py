"""Golden values for a whole network: LeNet-5 (28x28 input, 61,706 parameters) with
softmax cross-entropy. Input and parameters follow a formula that tests/test_lenet.c computes
too (so the file stays small): value i of tensor k is b * sin(1.7 i + k) computed in double,
rounded to float, with b = 1/sqrt(fan_in) for parameters and x = 0.5 + 0.5 sin(0.91 i).
Writes the logits, the loss and the gradient of the loss with respect to every parameter and
the input, so the test checks glia's whole forward and backward against PyTorch."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from common import write  # noqa: E402

torch.manual_seed(5)
net = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
assert sum(p.numel() for p in net.parameters()) == 61706


def formula(shape, k, b):
    i = torch.arange(int(torch.tensor(shape).prod()), dtype=torch.float64)
    return (b * torch.sin(1.7 * i + k)).float().reshape(shape)


layers = [net[0], net[3], net[7], net[9], net[11]]
with torch.no_grad():
    for k, l in enumerate(layers):
        fan_in = l.weight[0].numel()
        l.weight.copy_(formula(l.weight.shape, 2 * k, fan_in ** -0.5))
        l.bias.copy_(formula(l.bias.shape, 2 * k + 1, fan_in ** -0.5))
i = torch.arange(4 * 784, dtype=torch.float64)
x = (0.5 + 0.5 * torch.sin(0.91 * i)).float().reshape(4, 1, 28, 28).requires_grad_(True)
labels = torch.tensor([3, 1, 4, 1])
logits = net(x)
loss = nn.functional.cross_entropy(logits, labels)
loss.backward()
names = ["conv1", "conv2", "fc1", "fc2", "fc3"]
out = [("labels", labels.float())]
out += [("logits", logits), ("loss", loss.reshape(1)), ("dx", x.grad)]
for n, l in zip(names, layers):
    out += [("d" + n + ".weight", l.weight.grad), ("d" + n + ".bias", l.bias.grad)]
write("lenet5", out, "LeNet-5 forward and backward, batch 4, cross-entropy")
