"""BRISQUE: our SVR evaluation equals libsvm's, scores order clean < distorted, clear errors without the model."""

import cv2
import numpy as np
import pytest
from skimage import data

from uptflow.metrics._nss import rgb2gray_matlab
from uptflow.metrics.brisque import brisque, brisque_features, default_model_files, load_brisque_model


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


def test_brisque_features_are_36_finite_values(astronaut):
    f = brisque_features(rgb2gray_matlab(astronaut))
    assert f.shape == (36,) and np.isfinite(f).all()
    assert 0.2 <= f[0] <= 10  # GGD shape on the grid 0.2:0.001:10


def test_svr_evaluation_matches_libsvm_predict(astronaut):
    svmutil = pytest.importorskip("libsvm.svmutil")
    model = load_brisque_model()
    feats = [brisque_features(rgb2gray_matlab(img)) for img in (astronaut, data.coffee(), data.chelsea())]
    svm = svmutil.svm_load_model(str(default_model_files()[0]))
    for f in feats:
        x = (-1 + 2 * (f - model.feat_min) / (model.feat_max - model.feat_min)).tolist()
        ref = svmutil.svm_predict([0.0], [x], svm, "-q")[0][0]
        assert model.predict(f) == pytest.approx(ref, abs=1e-6)


def test_brisque_orders_clean_below_noisy_and_blurred(astronaut):
    rng = np.random.default_rng(0)
    noisy = np.clip(astronaut + rng.normal(0, 25, astronaut.shape), 0, 255).astype(np.uint8)
    clean = brisque(astronaut)
    assert clean == brisque(astronaut.copy())
    assert clean < 20
    assert brisque(noisy) > clean + 20
    assert brisque(cv2.GaussianBlur(astronaut, (0, 0), 3)) > clean + 20


def test_missing_model_file_gives_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="svm.txt"):
        load_brisque_model(tmp_path / "svm.txt", tmp_path / "normalize.pickle")
