# expect: dangerous-call
import pickle

with open('x', 'rb') as f:
    obj = pickle.load(f)
