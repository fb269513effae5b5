"""The held-out data of the quality gate: scikit-learn's digits, split once and for all.

The split is module 3's (25 % test, stratified, seed 42): the registered model in
``model/`` was trained and selected on the rest, so its test set is held out for the
gate as well. A gate that measured on rows the model was trained on would pass a model
that only memorised them."""
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

TEST_SIZE = 0.25
SPLIT_SEED = 42


def load_split():
    """(X_train, X_test, y_train, y_test), the same every time: raw pixel values 0..16."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
