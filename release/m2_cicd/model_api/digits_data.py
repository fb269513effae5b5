"""The data of the model service: scikit-learn's digits, split once and for all.

Training and the quality gate must use the same held-out test set, so the split lives
here and nowhere else."""
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

TEST_SIZE = 0.25
SPLIT_SEED = 0


def load_split():
    """(X_train, X_test, y_train, y_test), the same every time."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
