// The one table of optimizer defaults: the training config's defaults and AdamW's own. weightDecay is 0, as in
// HF's TrainingArguments (torch.optim.AdamW alone would use 0.01); pass it explicitly for decay.
export const ADAMW_DEFAULTS = {
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
} as const;
