"""utils.training.models: shapes, the frozen eval-mode ResNet backbone, the offline-weights error."""
from __future__ import annotations

import urllib.error

import pytest
import torch

from utils.training.losses import vae_loss
from utils.training.models import ModelConfig, PaperDecoder, build_vae


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest: tiny tensors on one thread


@pytest.mark.parametrize("size,latent,base", [(16, 1, 8), (32, 9, 8), (48, 3, 4), (64, 9, 8)])
def test_conv_vae_shapes_and_range(size, latent, base):
    torch.manual_seed(0)
    model = build_vae(ModelConfig(encoder="conv", latent_dim=latent, image_size=size, base_channels=base))
    x = (torch.rand(3, 1, size, size) > 0.5).float()
    recon, mu, logvar = model(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (3, latent)
    assert ((recon > 0) & (recon < 1)).all()
    assert model.decode(torch.zeros(2, latent)).shape == (2, 1, size, size)


def test_sampling_follows_the_generator_and_reconstruct_uses_the_mean():
    torch.manual_seed(0)
    model = build_vae(ModelConfig(image_size=16, base_channels=4)).eval()
    x = torch.rand(2, 1, 16, 16)
    a = model(x, generator=torch.Generator().manual_seed(1))[0]
    b = model(x, generator=torch.Generator().manual_seed(1))[0]
    c = model(x, generator=torch.Generator().manual_seed(2))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    mu, _ = model.encode(x)
    assert torch.equal(model.reconstruct(x), model.decode(mu))


@pytest.mark.parametrize("size", [28, 50, 224])
def test_paper_decoder_resizes_to_any_size(size):
    decoder = PaperDecoder(latent_dim=9, image_size=size).eval()
    out = decoder(torch.randn(2, 9))
    assert out.shape == (2, 1, size, size) and ((out > 0) & (out < 1)).all()


def test_invalid_configurations_and_inputs():
    with pytest.raises(ValueError, match="multiple of 16"):
        ModelConfig(encoder="conv", image_size=30)
    with pytest.raises(ValueError, match="encoder"):
        ModelConfig(encoder="vgg")
    with pytest.raises(ValueError, match="latent_dim"):
        ModelConfig(latent_dim=0)
    model = build_vae(ModelConfig(image_size=16, base_channels=4))
    with pytest.raises(ValueError, match=r"\(B, 1, 16, 16\)"):
        model(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="z of shape"):
        model.decode(torch.zeros(2, 3))


@pytest.fixture(scope="module")
def resnet_vae():
    torch.manual_seed(0)
    return build_vae(ModelConfig(encoder="resnet152", pretrained=False, image_size=32, latent_dim=9))


def test_resnet_vae_shapes(resnet_vae):
    resnet_vae.eval()
    x = torch.rand(2, 1, 32, 32)
    recon, mu, logvar = resnet_vae(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (2, 9)
    assert resnet_vae.config.decoder_kind == "paper"


def test_resnet_backbone_stays_frozen_and_in_eval_mode(resnet_vae):
    model = resnet_vae
    model.train()
    backbone = model.encoder.backbone
    assert model.training and model.encoder.head.training
    assert not backbone.training and not any(m.training for m in backbone.modules())
    assert not any(p.requires_grad for p in backbone.parameters())

    frozen_before = {k: v.clone() for k, v in backbone.state_dict().items()}
    head_bn = model.encoder.head[0][1]
    head_mean_before = head_bn.running_mean.clone()
    rgb_before = model.encoder.to_rgb.weight.detach().clone()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    x = (torch.rand(4, 1, 32, 32) > 0.5).float()
    recon, mu, logvar = model(x, generator=torch.Generator().manual_seed(0))
    vae_loss(recon, x, mu, logvar)["total"].backward()
    assert all(p.grad is None for p in backbone.parameters())
    optimizer.step()

    for key, value in backbone.state_dict().items():      # weights and BN running statistics
        assert torch.equal(value, frozen_before[key]), key
    assert not torch.equal(head_bn.running_mean, head_mean_before)      # the head does train
    assert not torch.equal(model.encoder.to_rgb.weight, rgb_before)     # and so does the 1x1 conv
    model.eval()
    assert not backbone.training


def test_offline_pretrained_request_explains_what_to_do(monkeypatch):
    import torchvision.models._api as tv_api

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv_api, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError) as info:
        build_vae(ModelConfig(encoder="resnet152", pretrained=True, image_size=32))
    message = str(info.value)
    assert "resnet152-f82ba261.pth" in message and "checkpoints" in message
    assert torch.hub.get_dir() in message and "TORCH_HOME" in message
    assert "--pretrained=false" in message
