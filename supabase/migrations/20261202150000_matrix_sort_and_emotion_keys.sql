-- The Matrix sorts on topic, tier, turns and the emotional arc too, and filters and counts emotions by a key
-- that folds case and whitespace ("Anxiety", "anxiety " and "anxiety" are one emotion; the stored value is
-- kept as written). Each sort has an index that ends in conversation_number, the tie-break of every order, so
-- a page of an ascending sort is read from the index instead of sorting the table. The emotion indexes are on
-- the exact expression conversations/emotions.py writes (constants, not parameters), so the planner matches
-- them for the filter, the facet counts and the arc sort alike.

CREATE INDEX idx_conversations_topic_number ON training_conversations (topic_category, conversation_number);
CREATE INDEX idx_conversations_tier_number ON training_conversations (tier, conversation_number);
CREATE INDEX idx_conversations_turns_number ON training_conversations (turn_count, conversation_number);
CREATE INDEX idx_conversations_starting_emotion_key ON training_conversations
  ((lower(btrim(regexp_replace(starting_emotion, '\s+', ' ', 'g')))), conversation_number);
CREATE INDEX idx_conversations_ending_emotion_key ON training_conversations
  ((lower(btrim(regexp_replace(ending_emotion, '\s+', ' ', 'g')))), conversation_number);
