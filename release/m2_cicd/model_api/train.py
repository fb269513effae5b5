"""Train the digits model and save it: python train.py --out model.joblib"""
import argparse

import joblib
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from digits_data import load_split


def train(seed=0):
    X_train, _, y_train, _ = load_split()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))
    return model.fit(X_train, y_train)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="model.joblib")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    joblib.dump(train(args.seed), args.out)
    print(f"saved {args.out}")
